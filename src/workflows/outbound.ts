/**
 * Outbound HTTP: the only way CaseBridge calls other systems — subscription endpoints, partners'
 * FHIR servers and token endpoints, payers' $submit-attachment. Every call has a deadline, never
 * follows a redirect (a 3xx is an answer like any other: the caller treats it as a failure), and
 * goes only where destinations.ts allows; the callers record each one in the audit.
 * No URL a client sends is fetched unless an administrator allowed its origin (docs/security.md).
 */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface OutboundRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** The call did not get an answer: refused connection, timeout, bad URL. */
export class OutboundFailure extends Error {
  override name = 'OutboundFailure';
}

/** Most bytes of an answer read (a FHIR search page, a token): a misbehaving peer cannot fill our memory. */
const MAX_ANSWER_BYTES = 20 * 1024 * 1024;

export class OutboundHttp {
  constructor(private readonly options: { readonly fetch: Fetch; readonly timeoutMs: number }) {}

  async send(request: OutboundRequest): Promise<OutboundResponse> {
    let response: Response;
    try {
      response = await this.options.fetch(request.url, {
        method: request.method,
        headers: { ...(request.headers ?? {}) },
        ...(request.body !== undefined ? { body: request.body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new OutboundFailure(`${request.method} ${new URL(request.url).origin}: ${reason}`, { cause: error });
    }
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > MAX_ANSWER_BYTES) {
      await response.body?.cancel();
      throw new OutboundFailure(`${request.method} ${new URL(request.url).origin}: answer too large (${length} bytes)`);
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  }
}

/** An answer's body as JSON, or undefined when it is not JSON. */
export function jsonOf(response: OutboundResponse): unknown {
  try {
    return response.text === '' ? undefined : JSON.parse(response.text);
  } catch {
    return undefined;
  }
}

/** A short description of a failed answer for records and logs (status and the OperationOutcome's text, never the body). */
export function describeAnswer(response: OutboundResponse): string {
  const body = jsonOf(response) as { resourceType?: string; issue?: { diagnostics?: string; details?: { text?: string } }[] } | undefined;
  const detail = body?.resourceType === 'OperationOutcome' ? (body.issue?.[0]?.diagnostics ?? body.issue?.[0]?.details?.text) : undefined;
  return `HTTP ${response.status}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
}

/**
 * One outbound call judged as the workflows record it: the answer, and what went wrong (a non-2xx
 * answer described, or the network failure) — both, so the audit records every attempt. Errors
 * that are not the peer's (bugs) are thrown.
 */
export async function callPeer(send: () => Promise<OutboundResponse>): Promise<{ response?: OutboundResponse; failure?: string }> {
  try {
    const response = await send();
    return response.status < 200 || response.status > 299 ? { response, failure: describeAnswer(response) } : { response };
  } catch (err) {
    if (!(err instanceof OutboundFailure)) throw err;
    return { failure: err.message };
  }
}
