/**
 * A partner's FHIR server, as a client: requests go only under its registered base URL, with an
 * access token got by SMART Backend Services (a client assertion signed with the key of the
 * registration the partner made for us; the token endpoint registered, or discovered at
 * [base]/.well-known/smart-configuration on the partner's own origin), or with a registered
 * bearer token. Tokens are reused until a minute before they expire.
 * See: https://hl7.org/fhir/smart-app-launch/backend-services.html
 */
import type { JWK } from 'jose';
import { signClientAssertion, tokenRequestForm } from '../auth/client-credentials';
import { FHIR_JSON } from '../fhir/media-types';
import type { Partner } from '../store/records';
import { isUnder } from './destinations';
import { OutboundFailure, type OutboundHttp, type OutboundResponse, describeAnswer, jsonOf } from './outbound';

export class PartnerClient {
  private token: { value: string; until: number } | undefined;

  constructor(
    readonly partner: Partner,
    private readonly http: OutboundHttp,
    private readonly now: () => Date,
  ) {}

  /** The absolute URL of `path` (`Task/1`, `Task?_id=1`) on the partner's server, or `path` when it is already one under its base. */
  url(path: string): string {
    const url = /^https?:\/\//.test(path) ? path : `${this.partner.baseUrl}/${path}`;
    if (!isUnder(url, this.partner.baseUrl)) {
      throw new OutboundFailure(`${url} is not on partner ${this.partner.id}'s server (${this.partner.baseUrl})`);
    }
    return url;
  }

  /** A FHIR request to the partner; the answer whatever its status (OutboundFailure when there is none). */
  async request(method: 'GET' | 'POST' | 'PUT', path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<OutboundResponse> {
    const url = this.url(path);
    const send = async () =>
      this.http.send({
        method,
        url,
        headers: {
          accept: FHIR_JSON,
          ...(options.body !== undefined ? { 'content-type': FHIR_JSON } : {}),
          ...(await this.authorization()),
          ...(options.headers ?? {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    let response = await send();
    if (response.status === 401 && this.token !== undefined) {
      // The token was refused (revoked, keys rotated): once more with a new one.
      this.token = undefined;
      response = await send();
    }
    return response;
  }

  private async authorization(): Promise<Record<string, string>> {
    const credentials = this.partner.credentials;
    switch (credentials.type) {
      case 'none':
        return {};
      case 'bearer':
        return { authorization: `Bearer ${credentials.token}` };
      case 'smart-backend': {
        const now = this.now().getTime();
        if (this.token === undefined || this.token.until <= now) {
          const tokenUrl = credentials.tokenUrl ?? (await this.discoverTokenUrl());
          const assertion = await signClientAssertion({ client_id: credentials.clientId, private_key: credentials.privateJwk as unknown as JWK }, tokenUrl);
          const response = await this.http.send({
            method: 'POST',
            url: tokenUrl,
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: tokenRequestForm(assertion, credentials.scope).toString(),
          });
          const body = jsonOf(response) as { access_token?: string; expires_in?: number; error?: string } | undefined;
          if (response.status !== 200 || typeof body?.access_token !== 'string') {
            throw new OutboundFailure(`partner ${this.partner.id}: no access token (${body?.error ?? describeAnswer(response)})`);
          }
          this.token = { value: body.access_token, until: now + Math.max(0, (body.expires_in ?? 300) - 60) * 1000 };
        }
        return { authorization: `Bearer ${this.token.value}` };
      }
    }
  }

  /** The token endpoint the partner's SMART discovery document names, on the partner's own origin. */
  private async discoverTokenUrl(): Promise<string> {
    const response = await this.http.send({ method: 'GET', url: `${this.partner.baseUrl}/.well-known/smart-configuration`, headers: { accept: 'application/json' } });
    const endpoint = (jsonOf(response) as { token_endpoint?: unknown } | undefined)?.token_endpoint;
    if (response.status !== 200 || typeof endpoint !== 'string' || new URL(endpoint).origin !== new URL(this.partner.baseUrl).origin) {
      throw new OutboundFailure(`partner ${this.partner.id}: its SMART configuration names no token endpoint on its own origin; register one (--token-url)`);
    }
    return endpoint;
  }
}
