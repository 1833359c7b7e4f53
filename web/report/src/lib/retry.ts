// Submitting from a phone on a shaky network: network errors, 408, 502, 503 and 504 are tried
// again with growing pauses (1 s, 2 s, 4 s … at most 30 s), and at once when the phone says it is
// back online. Everything else is an answer to show.

import { ApiError } from "@whistle/api";

/** A refusal from the API (the shared `ApiError`: status and problem+json body). */
export const HttpError = ApiError;
export type HttpError = ApiError;

const RETRY_STATUS = new Set([408, 502, 503, 504]);

export function isRetryable(e: unknown): boolean {
  if (e instanceof HttpError) return RETRY_STATUS.has(e.status);
  // fetch rejects with a TypeError when the network is down; an abort is the page's own doing.
  return e instanceof TypeError;
}

export function backoffMs(attempt: number, base = 1000, cap = 30_000): number {
  return Math.min(cap, base * 2 ** Math.max(0, attempt));
}

export interface RetryOptions {
  /** Called before each pause, with the attempt that failed (0-based). */
  onRetry?: (attempt: number, error: unknown) => void;
  base?: number;
  cap?: number;
  /** Waits for the pause, or less when the connection comes back. */
  sleep?: (ms: number) => Promise<void>;
}

function sleepOrOnline(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener("online", done);
  });
}

export async function withRetry<T>(run: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const sleep = opts.sleep ?? sleepOrOnline;
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!isRetryable(e)) throw e;
      opts.onRetry?.(attempt, e);
      await sleep(backoffMs(attempt, opts.base, opts.cap));
    }
  }
}
