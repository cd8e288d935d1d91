import { z } from 'zod';

// Seeded, reproducible fault injection and the service's token-bucket rate limit.

/** A tiny seeded PRNG (mulberry32): the same seed gives the same sequence of numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const rate = z.number().min(0).max(1).optional();

export const faultSettingsSchema = z
  .strictObject({
    seed: z.number().int().optional(),
    errorRate: rate,
    rateLimitRate: rate,
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    hangRate: rate,
    dropRate: rate,
    expireTokensNow: z.boolean().optional(),
  })
  .refine(
    (settings) =>
      (settings.errorRate ?? 0) + (settings.rateLimitRate ?? 0) + (settings.hangRate ?? 0) + (settings.dropRate ?? 0) <= 1,
    'errorRate, rateLimitRate, hangRate and dropRate add up to at most 1',
  );
export type FaultSettings = z.infer<typeof faultSettingsSchema>;

export type FaultOutcome =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'hang' }
  | { kind: 'error'; status: 500 | 503 }
  | { kind: 'rate-limit'; retryAfterSeconds: number };

/**
 * Decides, request by request, which fault (if any) an API call meets. Every decision draws the
 * same amount of randomness, so a seed and a sequence of calls always give the same outcomes.
 */
export class FaultPlan {
  readonly latencyMs: number;
  private readonly random: () => number;

  constructor(private readonly settings: FaultSettings) {
    this.latencyMs = settings.latencyMs ?? 0;
    this.random = mulberry32(settings.seed ?? 1);
  }

  get active(): boolean {
    const { errorRate = 0, rateLimitRate = 0, hangRate = 0, dropRate = 0 } = this.settings;
    return this.latencyMs > 0 || errorRate + rateLimitRate + hangRate + dropRate > 0;
  }

  next(): FaultOutcome {
    const { errorRate = 0, rateLimitRate = 0, hangRate = 0, dropRate = 0 } = this.settings;
    const draw = this.random();
    const detail = this.random();
    let threshold = dropRate;
    if (draw < threshold) return { kind: 'drop' };
    threshold += hangRate;
    if (draw < threshold) return { kind: 'hang' };
    threshold += errorRate;
    if (draw < threshold) return { kind: 'error', status: detail < 0.5 ? 500 : 503 };
    threshold += rateLimitRate;
    if (draw < threshold) return { kind: 'rate-limit', retryAfterSeconds: 1 + Math.floor(detail * 3) };
    return { kind: 'pass' };
  }
}

/** CaseWare Cloud's token bucket: `burst` tokens, refilled at `replenishPerSecond`, one per call. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly burst: number,
    readonly replenishPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  take(): { allowed: boolean; remaining: number } {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.replenishPerSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return { allowed: false, remaining: 0 };
    this.tokens -= 1;
    return { allowed: true, remaining: Math.floor(this.tokens) };
  }

  refill(): void {
    this.tokens = this.burst;
    this.updatedAt = this.now();
  }
}
