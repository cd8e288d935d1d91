import { z } from 'zod';

// Scripted answers, for tests that need one exact failure where the seeded faults give a rate. A
// simulator's `POST /_sim/script` replaces the script; `/_sim/reset` clears it.

/**
 * A scripted answer for the API calls whose method and path (below the API root, e.g. `/users/x`)
 * match: after `delayMs` it answers `status` with `body` (raw text; the service's error body when
 * absent) and `headers` (e.g. Retry-After with a 429), or, without a status, lets the call
 * through; with `loseAnswer` as well, the service does the work and then drops the connection
 * instead of answering (the caller never learns what it made). It meets the next `times` matching
 * calls (default: all of them).
 */
export const scriptRuleSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().describe('a regular expression'),
  times: z.number().int().positive().optional(),
  delayMs: z.number().int().min(0).max(600_000).optional(),
  status: z.number().int().min(200).max(599).optional(),
  body: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  loseAnswer: z.boolean().optional(),
});
export const scriptSchema = z.strictObject({ rules: z.array(scriptRuleSchema) });
export type ScriptRule = z.infer<typeof scriptRuleSchema>;

/** The rules in force; the first rule that matches a call and has times left meets it. */
export class Script {
  private rules: (ScriptRule & { pattern: RegExp })[] = [];

  /** Replaces the rules; answers why they are refused, or undefined when they are in force. */
  replace(body: unknown): string[] | undefined {
    const parsed = scriptSchema.safeParse(body ?? {});
    if (!parsed.success) return parsed.error.issues.map((issue) => issue.message);
    const compiled: (ScriptRule & { pattern: RegExp })[] = [];
    for (const rule of parsed.data.rules) {
      try {
        compiled.push({ ...rule, pattern: new RegExp(rule.path) });
      } catch {
        return [`path ${rule.path} is not a regular expression`];
      }
    }
    this.rules = compiled;
    return undefined;
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that meets this call, which uses up one of its times; undefined when none does. */
  take(method: string, path: string): ScriptRule | undefined {
    const rule = this.rules.find((candidate) => candidate.method === method && candidate.pattern.test(path) && candidate.times !== 0);
    if (rule?.times !== undefined) rule.times -= 1;
    return rule;
  }
}
