// How a call goes out: authentication, the Idempotency-Key of a POST (the same on its
// retries), retries on 429, 502-504 and network failures (honouring Retry-After),
// timeouts, the API's request signing, and the API's errors thrown.

import { createHash, createHmac, randomUUID } from "node:crypto";

export const VERSION = "0.1.0";
export const DEFAULT_API_BASE = "https://pushguard.net/api/v2";
const RETRIED = new Set([429, 502, 503, 504]);
/** The longest wait between tries, whatever Retry-After says (ms). */
const MAX_WAIT_MS = 60_000;

/** A call's query or body. */
export type Params = Record<string, unknown>;

export interface ClientOptions {
  /** An API key. */
  apiKey: string;
  /** The account's email: Basic authentication, as the original API; without it, Bearer. */
  apiEmail?: string;
  /** Where the API is (https://pushguard.net/api/v2). */
  apiBase?: string;
  /** A key made with require_signed: its signing_secret signs every request. */
  signingSecret?: string;
  /** Milliseconds per try (30 s). */
  timeoutMs?: number;
  /** Tries after the first on 429, 502-504 and network failures (3). */
  maxRetries?: number;
  /** The API's messages' language: "en" or "es". */
  language?: string;
  /** X-Child-Company-Id: act for one of the account's child accounts. */
  childCompanyId?: string;
}

/** An answer of 400 to 599, with what the API said. */
export class PushGuardError extends Error {
  readonly status?: number;
  /** Each problem, for validation errors. */
  readonly errors: string[];
  readonly body: unknown;
  readonly headers: Record<string, string>;

  constructor(message: string, options: { status?: number; errors?: string[]; body?: unknown; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = options.status;
    this.errors = options.errors ?? [];
    this.body = options.body;
    this.headers = options.headers ?? {};
  }
}
export class InvalidRequestError extends PushGuardError {}
export class AuthenticationError extends PushGuardError {}
export class PermissionError extends PushGuardError {}
export class NotFoundError extends PushGuardError {}
export class ConflictError extends PushGuardError {}
export class UnprocessableError extends PushGuardError {}
export class RateLimitError extends PushGuardError {}
export class APIError extends PushGuardError {}
/** No answer: the connection failed or timed out, on every try. */
export class ConnectionError extends PushGuardError {}
/** A webhook whose signature does not verify, or is too old. */
export class SignatureVerificationError extends PushGuardError {}

const BY_STATUS: Record<number, typeof PushGuardError> = {
  400: InvalidRequestError,
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableError,
  429: RateLimitError,
};

/** An operation as the generated table describes it. */
export interface OperationSpec {
  readonly method: string;
  readonly path: string;
  readonly params: readonly string[];
  readonly body: boolean;
  readonly list: boolean;
}

/** Sends requests for one set of credentials. */
export class Transport {
  readonly apiBase: string;
  private readonly options: ClientOptions;

  constructor(options: ClientOptions, private readonly operations: Record<string, OperationSpec>) {
    if (!options.apiKey) throw new TypeError("apiKey: the API key to call with");
    this.options = options;
    this.apiBase = (options.apiBase ?? DEFAULT_API_BASE).replace(/\/+$/, "");
  }

  /** Calls `operation` with its path's `ids` and `params` (the JSON body, or the query of a GET or DELETE). */
  async call(operation: string, ids: string[], params: Params): Promise<[unknown, Headers]> {
    const spec = this.operations[operation];
    if (!spec) throw new TypeError(`no operation ${operation}`);
    if (ids.length !== spec.params.length) throw new TypeError(`${operation} takes ${spec.params.join(", ") || "no ids"}`);
    let path = spec.path;
    spec.params.forEach((name, at) => {
      path = path.replace(`{${name}}`, encodeURIComponent(String(ids[at])));
    });
    return spec.body ? this.request(spec.method, path, undefined, params) : this.request(spec.method, path, params);
  }

  /** `method` on `path` (`/api/v2/...`, as a Link gives it): the parsed answer and its headers. */
  async request(method: string, path: string, query?: Params, body?: Params): Promise<[unknown, Headers]> {
    const url = new URL(path, this.apiBase);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.append(name, String(value));
    }
    const text = body === undefined ? undefined : JSON.stringify(compact(body));
    const idempotencyKey = method === "POST" ? randomUUID() : undefined;
    const maxRetries = this.options.maxRetries ?? 3;
    for (let tries = 1; ; tries++) {
      let response: Response;
      try {
        response = await this.send(method, url, text, idempotencyKey);
      } catch (error) {
        if (tries > maxRetries) {
          throw new ConnectionError(`${method} ${url.pathname}: ${(error as Error).message}`);
        }
        await sleep(backoff(tries));
        continue;
      }
      if (RETRIED.has(response.status) && tries <= maxRetries) {
        await response.arrayBuffer();
        await sleep(waitFor(response.headers, tries));
        continue;
      }
      return answer(response);
    }
  }

  private async send(method: string, url: URL, text: string | undefined, idempotencyKey: string | undefined): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "User-Agent": `pushguard-node/${VERSION}`,
      Authorization: this.authorization(),
    };
    if (this.options.language) headers["Accept-Language"] = this.options.language;
    if (this.options.childCompanyId) headers["X-Child-Company-Id"] = this.options.childCompanyId;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    if (text !== undefined) headers["Content-Type"] = "application/json";
    if (this.options.signingSecret) Object.assign(headers, this.signature(method, url, text ?? ""));
    return fetch(url, {
      method,
      headers,
      body: text,
      redirect: "manual",
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
  }

  private authorization(): string {
    if (this.options.apiEmail) {
      return `Basic ${Buffer.from(`${this.options.apiEmail}:${this.options.apiKey}`).toString("base64")}`;
    }
    return `Bearer ${this.options.apiKey}`;
  }

  /** The API's request signature: hex HMAC-SHA256 with the signing secret of the timestamp, method, path, query and the body's hex SHA-256, one per line. */
  private signature(method: string, url: URL, text: string): Record<string, string> {
    const timestamp = String(Date.now());
    const digest = createHash("sha256").update(text).digest("hex");
    const signed = [timestamp, method, url.pathname, url.search.replace(/^\?/, ""), digest].join("\n");
    const sign = createHmac("sha256", this.options.signingSecret as string).update(signed).digest("hex");
    return { "X-PushGuard-Timestamp": timestamp, "X-PushGuard-Sign": sign };
  }
}

function compact(params: Params): Params {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
}

function backoff(tries: number): number {
  return Math.min(500 * 2 ** (tries - 1), MAX_WAIT_MS) * (0.8 + Math.random() * 0.4);
}

function waitFor(headers: Headers, tries: number): number {
  const after = headers.get("retry-after") ?? "";
  return /^\d+$/.test(after) ? Math.min(Number(after) * 1000, MAX_WAIT_MS) : backoff(tries);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function answer(response: Response): Promise<[unknown, Headers]> {
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (response.status < 400) return [parsed, response.headers];
  const object = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const ErrorClass = BY_STATUS[response.status] ?? APIError;
  throw new ErrorClass(typeof object.message === "string" ? object.message : `HTTP ${response.status}`, {
    status: response.status,
    errors: Array.isArray(object.errors) ? object.errors.map(String) : [],
    body: parsed,
    headers: Object.fromEntries(response.headers),
  });
}

/**
 * One page of a list: its items (iterate it), how many there are in all (`totalCount`,
 * `totalPages`: page-numbered lists), and the next page, by number or by cursor as the
 * API's `Link` header says. `for await (const item of page.autoPagingIter())` goes
 * through every page.
 */
export class Page<T> implements Iterable<T> {
  readonly totalCount?: number;
  readonly totalPages?: number;
  private readonly next?: string;

  constructor(readonly data: T[], headers: Headers, private readonly transport: Transport) {
    const count = headers.get("x-total-count");
    const pages = headers.get("x-total-pages");
    this.totalCount = count ? Number(count) : undefined;
    this.totalPages = pages ? Number(pages) : undefined;
    this.next = link(headers.get("link") ?? "", "next");
  }

  [Symbol.iterator](): Iterator<T> {
    return this.data[Symbol.iterator]();
  }

  get length(): number {
    return this.data.length;
  }

  hasNext(): boolean {
    return this.next !== undefined;
  }

  /** The next page, or undefined after the last. */
  async nextPage(): Promise<Page<T> | undefined> {
    if (this.next === undefined) return undefined;
    const [data, headers] = await this.transport.request("GET", this.next);
    return new Page(data as T[], headers, this.transport);
  }

  /** Every item of this page and of each page after it. */
  async *autoPagingIter(): AsyncGenerator<T> {
    let page: Page<T> | undefined = this;
    while (page) {
      yield* page.data;
      page = await page.nextPage();
    }
  }
}

export function link(header: string, rel: string): string | undefined {
  for (const part of header.split(",")) {
    const [target, ...attributes] = part.split(";").map((piece) => piece.trim());
    if (attributes.includes(`rel="${rel}"`)) return target.replace(/^</, "").replace(/>$/, "");
  }
  return undefined;
}

/** A resource of the API, bound to a transport. */
export class Resource {
  constructor(protected readonly transport: Transport) {}

  protected async callOf<T>(operation: string, ids: string[], params: object): Promise<T> {
    const [data] = await this.transport.call(operation, ids, params as Params);
    return data as T;
  }

  protected async listOf<T>(operation: string, ids: string[], params: object): Promise<Page<T>> {
    const [data, headers] = await this.transport.call(operation, ids, params as Params);
    return new Page(data as T[], headers, this.transport);
  }
}
