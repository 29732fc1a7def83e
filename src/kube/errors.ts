/**
 * Classifying API errors. client-node 1.x throws ApiException with the HTTP code and the raw
 * Status body; everything else (connection refused, TLS) is a transport error worth retrying.
 */

/** client-node's ApiException, recognised by shape so that classifying errors does not load the library. */
function isApiException(err: unknown): err is Error & { code: number; body: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err;
}

/** The HTTP status of an API error, or undefined for transport errors. */
export function statusCode(err: unknown): number | undefined {
  if (isApiException(err)) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409 && !isAlreadyExists(err);
export const isForbidden = (err: unknown): boolean => statusCode(err) === 403;
export const isUnauthorized = (err: unknown): boolean => statusCode(err) === 401;

/** 409 with reason AlreadyExists (a create), as opposed to a resourceVersion/UID conflict. */
export function isAlreadyExists(err: unknown): boolean {
  return statusCode(err) === 409 && statusReason(err) === 'AlreadyExists';
}

/** The `reason` of a metav1.Status body (AlreadyExists, Conflict, NotFound, ...). */
export function statusReason(err: unknown): string | undefined {
  return parseStatus(err)?.reason;
}

/** One readable line for logs and error messages: the Status message when there is one. */
export function apiErrorMessage(err: unknown): string {
  const status = parseStatus(err);
  if (status?.message) return `${status.message} (HTTP ${statusCode(err)})`;
  if (isApiException(err)) return `HTTP ${err.code}`;
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

interface StatusBody {
  reason?: string;
  message?: string;
}

function parseStatus(err: unknown): StatusBody | undefined {
  if (!isApiException(err)) return undefined;
  const body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusBody) : undefined;
}
