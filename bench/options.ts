// What `npm run bench` was asked to measure (bench/main.ts parses it; the report prints it).

export const sections = ['reconcile', 'latency', 'bulk', 'provisioning', 'direct', 'floor'] as const;
export type Section = (typeof sections)[number];

export interface BenchOptions {
  quick: boolean;
  clients: number;
  contactsPerClient: number;
  editRate: number;
  editSeconds: number;
  bulkEdits: number;
  provisionClients: number;
  provisionContacts: number;
  concurrency: number;
  workers: number;
  historySample: number;
  sections: Section[];
  out: string;
  databaseAdminUrl: string;
  verbose: boolean;
}
