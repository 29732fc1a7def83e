/**
 * Retrying API calls the way kubeadm does (`kubernetesAPICall` timeout, fixed interval): the API
 * server may still be starting, or an authorization (RBAC binding) may not have propagated yet.
 */
import { apiErrorMessage, isAlreadyExists, statusCode } from './errors.js';

export interface RetryOptions {
  /** Give up after this long (kubeadm's kubernetesAPICall default is 1m). */
  timeoutMs?: number;
  /** Wait between attempts (kubeadm: 500ms). */
  intervalMs?: number;
  /** Stops the retrying early. */
  signal?: AbortSignal;
  /** Which errors are worth another attempt; default: transport errors, 429 and 5xx, 401/403 (RBAC not yet there). */
  retryIf?: (err: unknown) => boolean;
  /** What the call does, for the final error message. */
  what?: string;
}

export const DEFAULT_API_TIMEOUT_MS = 60_000;
export const DEFAULT_API_INTERVAL_MS = 500;

/** Errors that may go away by themselves while a control plane comes up. */
export function isTransient(err: unknown): boolean {
  const code = statusCode(err);
  if (code === undefined) return true;
  return code === 401 || code === 403 || code === 429 || code >= 500;
}

export class RetryTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastError: unknown,
  ) {
    super(message);
    this.name = 'RetryTimeoutError';
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Calls `fn` until it succeeds, a non-retryable error is thrown, or the timeout passes. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_API_INTERVAL_MS;
  const retryIf = options.retryIf ?? isTransient;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!retryIf(err) || options.signal?.aborted) throw err;
      if (Date.now() + intervalMs > deadline) {
        throw new RetryTimeoutError(`${options.what ?? 'API call'} did not succeed within ${Math.round(timeoutMs / 1000)}s: ${apiErrorMessage(err)}`, err);
      }
      await sleep(intervalMs, options.signal);
    }
  }
}

/**
 * Creates an object, or reads the existing one when it is already there (kubeadm's
 * CreateOrRetain): init must be re-runnable, and an existing object made by an earlier run is fine.
 */
export async function createOrGet<T>(create: () => Promise<T>, get: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (isAlreadyExists(err)) return get();
    throw err;
  }
}

/** Creates an object, or replaces the existing one (kubeadm's CreateOrUpdate). */
export async function createOrReplace<T>(create: () => Promise<T>, replace: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (isAlreadyExists(err)) return replace();
    throw err;
  }
}
