// A thin typed fetch client of the zhijian API, for the mini-program and partner platforms.
//
// Every path, method, parameter, body and answer is typed from openapi.yaml (the types in
// ./generated/, made by `npm run generate`); an error answer is an `ApiError` whose `code` is
// one of the contract's error codes (`ErrorCode`). Nothing here knows a route by hand: a
// contract change that breaks a caller breaks its compilation (`npm run check`, in make test).
//
//   const api = new ZhijianClient({ baseUrl: "https://api.example.cn", token: () => session.accessToken });
//   const result = await api.get("/v1/applications/{id}", { path: { id } });
//   if (result.ok) show(result.data.status);
//   else if (result.error.code === "not_found") …

import type { components, paths } from "./generated/schema.js";
import { type ErrorCode, isErrorCode } from "./generated/error-codes.js";

export type { components, paths } from "./generated/schema.js";
export { ERROR_CODES, type ErrorCode, isErrorCode } from "./generated/error-codes.js";

/** The JSON error envelope of every error answer. */
export type ErrorEnvelope = components["schemas"]["Error"];

/** The HTTP methods the contract uses. */
export type Method = "get" | "put" | "post" | "delete" | "patch";

/** The operation at `path` and `method`. */
export type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The paths that have an operation for `method`. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]-?: [NonNullable<paths[P][M]>] extends [never] ? never : P;
}[keyof paths];

type PathParams<Op> = Op extends { parameters: { path: infer T } } ? T : never;
type QueryParams<Op> = Op extends { parameters: { query?: infer T } } ? T : never;
type JsonBody<Op> = Op extends { requestBody?: infer RB }
  ? [NonNullable<RB>] extends [never]
    ? never
    : NonNullable<RB> extends { content: { "application/json": infer B } }
      ? undefined extends RB
        ? B | undefined
        : B
      : never
  : never;
type BodyPart<Op> = [JsonBody<Op>] extends [never]
  ? { body?: undefined }
  : undefined extends JsonBody<Op>
    ? { body?: JsonBody<Op> }
    : { body: JsonBody<Op> };
type TakesIdempotencyKey<Op> = Op extends {
  parameters: { header?: { "Idempotency-Key"?: unknown } };
}
  ? true
  : false;

type SuccessStatus = 200 | 201 | 202 | 204;

/** The JSON body of the operation's success answers (`undefined` for 204). */
export type SuccessData<Op> = Op extends { responses: infer R }
  ? {
      [S in keyof R & SuccessStatus]: R[S] extends { content: { "application/json": infer T } }
        ? T
        : undefined;
    }[keyof R & SuccessStatus]
  : never;

/** What a request needs besides its path: path parameters when the path has any, the body
 *  when the operation takes one, and optional query, `Idempotency-Key` and abort signal. */
export type RequestInit<Op> = ([PathParams<Op>] extends [never]
  ? { path?: undefined }
  : { path: PathParams<Op> }) &
  BodyPart<Op> &
  ([QueryParams<Op>] extends [never] ? { query?: undefined } : { query?: QueryParams<Op> }) &
  (TakesIdempotencyKey<Op> extends true ? { idempotencyKey?: string } : { idempotencyKey?: undefined }) & {
    /** Extra headers (never `Authorization`: see `token`). */
    headers?: Record<string, string>;
    signal?: AbortSignal;
  };

type InitArgs<Op> = {} extends RequestInit<Op> ? [init?: RequestInit<Op>] : [init: RequestInit<Op>];

/** An error answer of the API. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The envelope's machine code; `unknown_error` when the answer was not an envelope
   *  (a proxy's page, a network failure: then `status` is 0). */
  readonly code: ErrorCode | "unknown_error";
  /** The request field at fault, when there is one. */
  readonly field: string | undefined;
  /** Seconds to wait before trying again (429, 503), from `Retry-After`. */
  readonly retryAfter: number | undefined;
  /** `X-Request-Id` of the answer: quote it when reporting a problem. */
  readonly requestId: string | undefined;

  constructor(init: {
    status: number;
    code: ErrorCode | "unknown_error";
    message: string;
    field?: string | undefined;
    retryAfter?: number | undefined;
    requestId?: string | undefined;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
  }
}

/** The outcome of a call: the typed data, or the typed error. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number; error: ApiError; headers: Headers | undefined };

/** How to build a client. */
export interface ClientOptions {
  /** `https://host` (no trailing slash needed). */
  baseUrl: string;
  /** The bearer token to send (a worker's, an admin's or a partner's), if any. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** A `fetch` (the global one by default; the mini-program passes an adapter of `wx.request`). */
  fetch?: typeof fetch;
}

/** The typed client. */
export class ZhijianClient {
  private readonly baseUrl: string;
  private readonly token: ClientOptions["token"];
  private readonly fetcher: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** `GET path`. */
  get<P extends PathsWith<"get">>(path: P, ...init: InitArgs<Operation<P, "get">>) {
    return this.request<P, "get">("get", path, ...init);
  }

  /** `POST path`. */
  post<P extends PathsWith<"post">>(path: P, ...init: InitArgs<Operation<P, "post">>) {
    return this.request<P, "post">("post", path, ...init);
  }

  /** `PUT path`. */
  put<P extends PathsWith<"put">>(path: P, ...init: InitArgs<Operation<P, "put">>) {
    return this.request<P, "put">("put", path, ...init);
  }

  /** `PATCH path`. */
  patch<P extends PathsWith<"patch">>(path: P, ...init: InitArgs<Operation<P, "patch">>) {
    return this.request<P, "patch">("patch", path, ...init);
  }

  /** `DELETE path`. */
  delete<P extends PathsWith<"delete">>(path: P, ...init: InitArgs<Operation<P, "delete">>) {
    return this.request<P, "delete">("delete", path, ...init);
  }

  /** Any operation. */
  async request<P extends PathsWith<M>, M extends Method>(
    method: M,
    path: P,
    ...[init]: InitArgs<Operation<P, M>>
  ): Promise<ApiResult<SuccessData<Operation<P, M>>>> {
    const options = (init ?? {}) as {
      path?: Record<string, string | number>;
      query?: Record<string, unknown>;
      body?: unknown;
      idempotencyKey?: string;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    };
    const url = this.baseUrl + expandPath(path, options.path) + queryString(options.query);
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    const token = this.token ? await this.token() : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetcher(url, {
        method: method.toUpperCase(),
        headers,
        body,
        signal: options.signal,
      });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return {
        ok: false,
        status: 0,
        error: new ApiError({ status: 0, code: "unknown_error", message }),
        headers: undefined,
      };
    }
    const text = await response.text();
    const json = parseJson(text);
    if (response.ok) {
      return {
        ok: true,
        status: response.status,
        data: json as SuccessData<Operation<P, M>>,
        headers: response.headers,
      };
    }
    return {
      ok: false,
      status: response.status,
      error: toApiError(response, json, text),
      headers: response.headers,
    };
  }
}

function expandPath(template: string, params: Record<string, string | number> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name} of ${template}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, String(v)));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toApiError(response: Response, json: unknown, text: string): ApiError {
  const retry = Number(response.headers.get("retry-after"));
  const common = {
    status: response.status,
    retryAfter: Number.isFinite(retry) && retry >= 0 && response.headers.has("retry-after") ? retry : undefined,
    requestId: response.headers.get("x-request-id") ?? undefined,
  };
  if (isEnvelope(json)) {
    return new ApiError({
      ...common,
      code: isErrorCode(json.code) ? json.code : "unknown_error",
      message: json.message,
      field: json.field ?? undefined,
    });
  }
  return new ApiError({
    ...common,
    code: "unknown_error",
    message: text.slice(0, 200) || `HTTP ${response.status}`,
  });
}

function isEnvelope(value: unknown): value is ErrorEnvelope {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.message === "string";
}
