/**
 * A TypeScript client for the Solace API v1, with the API's own names.
 *
 *   const solace = new SolaceClient({ baseUrl: "https://solace.example", apiKey });
 *   const list = await solace.recommendations("u-123", { k: 5, fields: ["summary", "steps"] });
 *
 * No runtime dependencies: it uses the platform's `fetch` (Node 20+, browsers, Deno, Bun).
 * Ids are escaped as one path segment, `Date` values are sent as ISO 8601, and a 429 or
 * 503 is retried (honouring `Retry-After`, with jittered backoff) before it is thrown as
 * a `SolaceError`. The types come from the OpenAPI document (`src/schema.ts`, generated
 * by openapi-typescript; `npm run generate -- <openapi.json or URL>`).
 */

import type { components, operations } from "./schema.js";

type Schemas = components["schemas"];

export type RecommendationResponse = Schemas["RecommendationResponse"];
export type RecommendationRequest = Schemas["RecommendationRequest"];
export type RecommendedItem = Schemas["RecommendedItem"];
export type SearchResponse = Schemas["SearchResponse"];
export type ItemsResponse = Schemas["ItemsResponse"];
export type EventIn = Schemas["EventIn"];
export type EventBatchResponse = Schemas["EventBatchResponse"];
export type UserProfileIn = Schemas["UserProfileIn"];
export type UserExport = Schemas["UserExport"];
export type FeedPage = Schemas["FeedPageOut"];
export type FeedEntry = Schemas["FeedEntryOut"];
export type Resource = Schemas["Resource"];
export type ResourceChanges = Schemas["ResourceChanges"];
export type StoredResource = Schemas["StoredResourceOut"];
export type ResourceList = Schemas["ResourceListOut"];
export type ReviewRequest = Schemas["ReviewIn"];
export type AnalyticsResponse = Schemas["AnalyticsResponse"];
export type ErrorResponse = Schemas["ErrorResponse"];
export type HealthResponse = Schemas["HealthOut"];

type Query<Op extends keyof operations> = operations[Op] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
export type RecommendationQuery = Query<"get__v1_users_{user_id}_recommendations">;
export type SearchQuery = Query<"get__v1_resources_search">;
export type ResourcePageQuery = Query<"get__v1_resources">;

/** A `Date` where the API takes a time: sent as ISO 8601. */
export type WithDates<T> = { [K in keyof T]: T[K] extends string ? T[K] | (K extends "timestamp" ? Date : never) : T[K] };
export type EventInput = WithDates<EventIn>;

/** Every operation this client calls, as the OpenAPI document names it (a test checks
 * each against the running server's document). */
export const ENDPOINTS = [
  ["GET", "/v1/users/{user_id}/recommendations"],
  ["POST", "/v1/recommendations"],
  ["POST", "/v1/events"],
  ["GET", "/v1/users/{user_id}"],
  ["PUT", "/v1/users/{user_id}"],
  ["DELETE", "/v1/users/{user_id}"],
  ["GET", "/v1/resources/search"],
  ["GET", "/v1/resources/{resource_id}/similar"],
  ["GET", "/v1/resources/{resource_id}"],
  ["GET", "/v1/catalog/feed"],
  ["GET", "/v1/resources"],
  ["POST", "/v1/resources"],
  ["PATCH", "/v1/resources/{resource_id}"],
  ["POST", "/v1/resources/{resource_id}/review"],
  ["GET", "/v1/analytics/resources"],
  ["GET", "/healthz"],
] as const;

export class SolaceError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(`${status} ${code}: ${message}`);
    this.name = "SolaceError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Per attempt, in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Retries of a 429, a 503 or a network failure (default 3). */
  retries?: number;
  /** Base of the exponential backoff without Retry-After, and the jitter's range (default 200 ms). */
  backoffMs?: number;
  /** The longest wait a Retry-After may impose before the error is thrown instead (default 60 s). */
  maxRetryAfterMs?: number;
  /** Another fetch (tests, proxies); default: the global one. */
  fetch?: typeof fetch;
  /** Waiting between attempts; replaceable in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Randomness of the jitter in [0, 1); replaceable in tests. */
  random?: () => number;
}

/** One path segment: an id such as `a?b=c` or `x/y` stays one id. */
export function segment(id: string): string {
  if (id === "" || id === "." || id === "..") {
    // URL parsers resolve dot segments (even escaped ones): such an id cannot travel in a path
    throw new SolaceError(0, "invalid_id", `the id ${JSON.stringify(id)} cannot be sent in a URL path`);
  }
  return encodeURIComponent(id);
}

/** Dates as ISO 8601, recursively; everything else unchanged. */
export function jsonable(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonable);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonable(v)]));
  }
  return value;
}

/** A day as `YYYY-MM-DD` (UTC) for the analytics window. */
function day(value: Date | string): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : value;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

type Params = Record<string, string | number | boolean | readonly string[] | undefined | null>;

interface CallOptions {
  params?: Params;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FeedOptions {
  cursor?: string;
  limit?: number;
  /** The ETag of the page you have: `notModified` comes back while it is current. */
  etag?: string;
}

export type FeedResult =
  | { notModified: true; etag: string }
  | ({ notModified: false; etag: string | null } & FeedPage);

export class SolaceClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 200;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  private url(path: string, params?: Params): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params ?? {})) {
      if (value === undefined || value === null) continue;
      query.set(name, Array.isArray(value) ? value.join(",") : String(value));
    }
    const text = query.toString();
    return `${this.baseUrl}${path}${text ? `?${text}` : ""}`;
  }

  /** One request with retries; every call of this API is safe to repeat (events are
   * deduplicated by event_id). Answers the Response of the last attempt. */
  private async send(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json",
                                              ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(jsonable(options.body));
    }
    const url = this.url(path, options.params);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        if (attempt >= this.retries) throw error;
        await this.sleep(this.backoff(attempt));
        continue;
      }
      if ((response.status === 429 || response.status === 503) && attempt < this.retries) {
        const asked = retryAfterMs(response.headers.get("Retry-After"));
        if (asked === undefined || asked <= this.maxRetryAfterMs) {
          await response.arrayBuffer(); // free the connection
          await this.sleep((asked ?? this.backoff(attempt)) + this.random() * this.backoffMs);
          continue;
        }
      }
      return response;
    }
  }

  private backoff(attempt: number): number {
    return this.backoffMs * 2 ** attempt + this.random() * this.backoffMs;
  }

  private async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    return (await SolaceClient.read(response)) as T;
  }

  private static async read(response: Response): Promise<unknown> {
    const text = await response.text();
    if (response.status >= 400) {
      let error: Partial<ErrorResponse["error"]> = {};
      try {
        error = (JSON.parse(text) as ErrorResponse).error ?? {};
      } catch {
        error = { code: "http_error", message: text.slice(0, 200) };
      }
      throw new SolaceError(response.status, error.code ?? "http_error", error.message ?? response.statusText,
                            error.field ?? undefined);
    }
    return text === "" ? undefined : JSON.parse(text);
  }

  // --- platforms ---
  /** Ranked suggestions for one of your users; `fields` returns content to render with each item. */
  recommendations(userId: string, options: { k?: number; types?: readonly string[]; locale?: string;
                                            explain?: boolean; fields?: readonly string[] } = {}): Promise<RecommendationResponse> {
    const { k, types, locale, explain, fields } = options;
    return this.call("GET", `/v1/users/${segment(userId)}/recommendations`,
                     { params: { k, types, locale, explain, fields } });
  }

  /** Suggestions for an anonymous or contextual request (`context.text` is never stored). */
  recommend(request: RecommendationRequest): Promise<RecommendationResponse> {
    return this.call("POST", "/v1/recommendations", { body: request });
  }

  sendEvents(events: readonly EventInput[]): Promise<EventBatchResponse> {
    return this.call("POST", "/v1/events", { body: { events } });
  }

  putUser(userId: string, profile: UserProfileIn): Promise<UserProfileIn> {
    return this.call("PUT", `/v1/users/${segment(userId)}`, { body: profile });
  }

  /** Everything Solace holds about the user (the rights of access and portability). */
  getUser(userId: string): Promise<UserExport> {
    return this.call("GET", `/v1/users/${segment(userId)}`);
  }

  /** Erase every trace of the user (204 whether or not they existed). */
  async deleteUser(userId: string): Promise<void> {
    await this.call("DELETE", `/v1/users/${segment(userId)}`);
  }

  search(q: string, options: { k?: number; types?: readonly string[]; locale?: string } = {}): Promise<SearchResponse> {
    const { k, types, locale } = options;
    return this.call("GET", "/v1/resources/search", { params: { q, k, types, locale } });
  }

  similar(resourceId: string, k?: number): Promise<ItemsResponse> {
    return this.call("GET", `/v1/resources/${segment(resourceId)}/similar`, { params: { k } });
  }

  /** A platform key: the resource as your users may be served it; an editor key: with its workflow. */
  resource(resourceId: string): Promise<{ resource: Record<string, unknown> } | StoredResource> {
    return this.call("GET", `/v1/resources/${segment(resourceId)}`);
  }

  /** One page of the catalog feed. With `etag`, `notModified` while nothing changed. */
  async catalogFeed(options: FeedOptions = {}): Promise<FeedResult> {
    const headers: Record<string, string> = options.etag ? { "If-None-Match": options.etag } : {};
    const response = await this.send("GET", "/v1/catalog/feed",
                                     { params: { cursor: options.cursor, limit: options.limit }, headers });
    const etag = response.headers.get("ETag");
    if (response.status === 304) {
      await response.arrayBuffer();
      return { notModified: true, etag: etag ?? options.etag ?? "" };
    }
    const page = (await SolaceClient.read(response)) as FeedPage;
    return { notModified: false, etag, ...page };
  }

  /** Follow the feed from `cursor` (none: the whole catalog) to its end, handing each
   * page's entries to `apply`; answers the cursor to poll with next time. */
  async syncCatalog(apply: (entries: FeedEntry[]) => void | Promise<void>, cursor?: string,
                    limit?: number): Promise<string> {
    let next = cursor;
    for (;;) {
      const page = await this.catalogFeed({ cursor: next, limit });
      if (page.notModified) return next ?? "";
      await apply(page.items);
      next = page.next_cursor;
      if (!page.has_more) return next;
    }
  }

  // --- editors ---
  listResources(filters: ResourcePageQuery = {}): Promise<ResourceList> {
    return this.call("GET", "/v1/resources", { params: filters as Params });
  }

  createResource(resource: Resource): Promise<StoredResource> {
    return this.call("POST", "/v1/resources", { body: resource });
  }

  /** Optimistic concurrency: `version` is the one you read; a stale one is a 409. */
  patchResource(resourceId: string, changes: ResourceChanges, version: number): Promise<StoredResource> {
    return this.call("PATCH", `/v1/resources/${segment(resourceId)}`,
                     { body: changes, headers: { "If-Match": `"${version}"` } });
  }

  reviewResource(resourceId: string, action: ReviewRequest["action"],
                 extra: Omit<ReviewRequest, "action"> = {}): Promise<StoredResource> {
    return this.call("POST", `/v1/resources/${segment(resourceId)}/review`, { body: { action, ...extra } });
  }

  analyticsResources(options: { since?: Date | string; until?: Date | string } = {}): Promise<AnalyticsResponse> {
    const params: Params = {};
    if (options.since !== undefined) params.since = day(options.since);
    if (options.until !== undefined) params.until = day(options.until);
    return this.call("GET", "/v1/analytics/resources", { params });
  }

  health(): Promise<HealthResponse> {
    return this.call("GET", "/healthz");
  }
}
