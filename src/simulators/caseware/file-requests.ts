import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  CW_ANSWERING_ROLE,
  cwFileRequestCreateBodySchema,
  cwFileRequestPatchBodySchema,
  type CwFileRequest,
} from '../../portals/caseware/file-request-api';
import { SimulatorError } from './errors';
import { page, parseBody, type CaseWareStore, type ListQuery } from './store';

// File requests in the simulated CaseWare Cloud (seed article 003). Every shape and rule here is
// [assumed] (see src/portals/caseware/file-request-api.ts): a request is made for one entity, for
// recipients who hold "Contact - Entity Staff" on it and can log in; creating it mails them, a
// reminder mails them again, and a contact answers it with files (a /_sim hook stands in for the
// contact's upload in the portal).

export interface SimulatedFileRequest extends CwFileRequest {
  Subject: string;
  Description: string;
  CreatedAt: string;
  Reminders: number;
}

export interface FileRequestMail {
  to: string;
  kind: 'file-request' | 'file-request-reminder';
  request: string;
  at: string;
}

export interface FileRequestSimState {
  fileRequests: SimulatedFileRequest[];
  mails: FileRequestMail[];
}

const answerBodySchema = z.strictObject({ userId: z.string().min(1), files: z.array(z.string().min(1)).min(1) });
const text = 'string' as const;

export class FileRequestStore {
  private requests = new Map<string, SimulatedFileRequest>();
  private mails: FileRequestMail[] = [];

  constructor(private readonly store: CaseWareStore) {}

  reset(): void {
    this.requests = new Map();
    this.mails = [];
  }

  state(): FileRequestSimState {
    return structuredClone({ fileRequests: [...this.requests.values()], mails: this.mails });
  }

  list(query: ListQuery): SimulatedFileRequest[] {
    return page(this.requests.values(), query, { CWGuid: text, EntityId: text, ExternalRef: text, Status: text });
  }

  get(guid: string): SimulatedFileRequest {
    return structuredClone(this.request(guid));
  }

  create(body: unknown): SimulatedFileRequest {
    const fields = parseBody(cwFileRequestCreateBodySchema, body);
    // [assumed] The caller's reference is unique: a repeated create is a conflict, not a second request.
    if ([...this.requests.values()].some((r) => r.ExternalRef === fields.ExternalRef)) {
      throw new SimulatorError(409, 'A file request with this ExternalRef already exists');
    }
    this.store.getEntity(fields.EntityId);
    const recipients = [...new Set(fields.Recipients)];
    this.assertMayAnswer(fields.EntityId, recipients);
    const request: SimulatedFileRequest = {
      CWGuid: randomUUID(),
      EntityId: fields.EntityId,
      ExternalRef: fields.ExternalRef,
      Subject: fields.Subject,
      Description: fields.Description,
      DueDate: fields.DueDate ?? null,
      Status: 'Open',
      Recipients: recipients,
      AnsweredBy: null,
      AnsweredAt: null,
      Files: [],
      CreatedAt: new Date().toISOString(),
      Reminders: 0,
    };
    this.requests.set(request.CWGuid, request);
    this.mail(request, recipients, 'file-request');
    return structuredClone(request);
  }

  patch(guid: string, body: unknown): SimulatedFileRequest {
    const request = this.request(guid);
    const patch = parseBody(cwFileRequestPatchBodySchema, body);
    if (patch.Recipients !== undefined) {
      if (request.Status !== 'Open') throw new SimulatorError(422, `The file request is ${request.Status.toLowerCase()}`);
      const recipients = [...new Set(patch.Recipients)];
      // Only someone added must be able to answer; someone kept may have lost access meanwhile.
      this.assertMayAnswer(request.EntityId, recipients.filter((r) => !request.Recipients.includes(r)));
      request.Recipients = recipients;
    }
    // [assumed] Cancelling an answered or cancelled request changes nothing.
    if (patch.Status === 'Cancelled' && request.Status === 'Open') request.Status = 'Cancelled';
    return structuredClone(request);
  }

  /** [assumed] Mails every recipient who can still log in; an answered or cancelled request is refused. */
  remind(guid: string): void {
    const request = this.request(guid);
    if (request.Status !== 'Open') throw new SimulatorError(422, `The file request is ${request.Status.toLowerCase()}`);
    request.Reminders += 1;
    const active = request.Recipients.filter((userId) => this.activeUser(userId));
    this.mail(request, active, 'file-request-reminder');
  }

  /** The /_sim hook: a recipient uploads files in the portal. */
  answer(guid: string, body: unknown): SimulatedFileRequest {
    const request = this.request(guid);
    const { userId, files } = parseBody(answerBodySchema, body);
    if (request.Status !== 'Open') throw new SimulatorError(422, `The file request is ${request.Status.toLowerCase()}`);
    if (!request.Recipients.includes(userId)) throw new SimulatorError(403, 'This user is not a recipient of the file request');
    this.assertMayAnswer(request.EntityId, [userId]);
    request.Status = 'Answered';
    request.AnsweredBy = userId;
    request.AnsweredAt = new Date().toISOString();
    request.Files = files.map((Name) => ({ Name }));
    return structuredClone(request);
  }

  private assertMayAnswer(entityId: string, userIds: string[]): void {
    for (const userId of userIds) {
      const user = this.store.getUser(userId);
      if (user.OwnerType !== 'Contact' || user.Type === 'I') throw new SimulatorError(422, `User ${userId} is not an active contact`);
      if (!this.store.roleNamesOn(entityId, userId).includes(CW_ANSWERING_ROLE)) {
        throw new SimulatorError(422, `User ${userId} needs the role ${CW_ANSWERING_ROLE} on the entity to answer a file request`);
      }
    }
  }

  private activeUser(userId: string): boolean {
    try {
      return this.store.getUser(userId).Type !== 'I';
    } catch {
      return false;
    }
  }

  private mail(request: SimulatedFileRequest, userIds: string[], kind: FileRequestMail['kind']): void {
    const at = new Date().toISOString();
    for (const userId of userIds) this.mails.push({ to: this.store.getUser(userId).Email, kind, request: request.CWGuid, at });
  }

  private request(guid: string): SimulatedFileRequest {
    const request = this.requests.get(guid);
    if (request === undefined) throw new SimulatorError(404, 'File request not found');
    return request;
  }
}

/** The API routes under `apiPath`, and the /_sim hooks at the origin root. */
export function fileRequestRoutes(app: FastifyInstance, apiPath: string, requests: FileRequestStore): void {
  type Guid = { Params: { guid: string } };
  app.get(`${apiPath}/file-requests`, (request, reply) => reply.send(requests.list(request.query as ListQuery)));
  // [assumed] Creating answers 201 with the new request.
  app.post(`${apiPath}/file-requests`, (request, reply) => reply.code(201).send(requests.create(request.body)));
  app.get<Guid>(`${apiPath}/file-requests/:guid`, (request, reply) => reply.send(requests.get(request.params.guid)));
  app.patch<Guid>(`${apiPath}/file-requests/:guid`, (request, reply) => reply.send(requests.patch(request.params.guid, request.body)));
  // [assumed] A reminder answers 204.
  app.post<Guid>(`${apiPath}/file-requests/:guid/reminders`, (request, reply) => {
    requests.remind(request.params.guid);
    return reply.code(204).send();
  });

  app.get('/_sim/file-requests', (_request, reply) => reply.send(requests.state()));
  app.post<Guid>('/_sim/file-requests/:guid/answer', (request, reply) => reply.send(requests.answer(request.params.guid, request.body)));
}
