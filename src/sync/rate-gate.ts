import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db';
import type { RequestGate } from '../portals/http';

export interface RateLimit {
  /** Requests per second the fleet may send to the portal. */
  perSecond: number;
  /** Requests the fleet may send at once after a quiet while. */
  burst: number;
}

/**
 * A portal's rate limit kept for the whole fleet in PostgreSQL: before each request a worker takes
 * a token from the portal's bucket (one statement, a row lock held for that statement only). The
 * bucket refills at `perSecond` up to `burst`; a request that finds it empty reserves the next free
 * slot (the count goes below zero) and waits until then, so requests are admitted in order and
 * however many workers run, the portal sees no more than the limit. The portal's own 429s are
 * waited out besides (src/portals/http.ts): the gate only keeps them rare.
 */
export function postgresRateGate(db: Db, bucket: string, limit: RateLimit): RequestGate {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new Error(`rate limit of ${bucket} must have perSecond > 0 and burst >= 1`);
  return {
    async admit(signal) {
      const result = await db.raw<{ rows: { tokens: number }[] }>(
        `insert into portal_rate_buckets as b (portal, tokens, refilled_at) values (?, ?::double precision - 1, clock_timestamp())
         on conflict (portal) do update set
           tokens = least(?::double precision, b.tokens + extract(epoch from clock_timestamp() - b.refilled_at) * ?::double precision) - 1,
           refilled_at = clock_timestamp()
         returning tokens`,
        [bucket, limit.burst, limit.burst, limit.perSecond],
      );
      const tokens = Number(result.rows[0]?.tokens ?? 0);
      if (tokens >= 0) return;
      await sleep(Math.ceil((-tokens / limit.perSecond) * 1000), undefined, { signal });
    },
  };
}
