// Compiled by `tsc --noEmit` in make test, never run: the calls the mini-program and partners
// make, against the types generated from openapi.yaml. A contract change that breaks one of
// them (a path renamed, a field removed or retyped, an error code dropped) fails the build.
// The `@ts-expect-error` lines prove the types refuse what the contract refuses.

import { type ApiResult, type ErrorCode, ZhijianClient } from "./client.js";
import type { components } from "./generated/schema.js";

type Application = components["schemas"]["Application"];

export async function examples(api: ZhijianClient): Promise<void> {
  const health = await api.get("/healthz");
  if (!health.ok) handle(health.error.code);

  const sent = await api.post("/v1/auth/sms-codes", {
    body: { phone: "13812345678", purpose: "login" },
  });
  if (!sent.ok && sent.error.code === "too_many_requests") void sent.error.retryAfter;

  const mine = await api.get("/v1/applications/mine");
  if (mine.ok) for (const item of mine.data.items) void item.id;

  const one: ApiResult<Application> = await api.get("/v1/applications/{id}", {
    path: { id: "0190f5d2-0000-7000-8000-000000000000" },
  });
  if (one.ok) void one.data.status_label;
  else if (one.error.code === "not_found") void one.error.requestId;

  // @ts-expect-error: no such path in the contract
  await api.get("/v1/no-such-route");
  // @ts-expect-error: the path parameter is required
  await api.get("/v1/applications/{id}");
  // @ts-expect-error: the body must be an SmsCodeRequest
  await api.post("/v1/auth/sms-codes", { body: { phone: 13812345678 } });
  // @ts-expect-error: GET /v1/auth/sms-codes is not an operation
  await api.get("/v1/auth/sms-codes");
}

function handle(code: ErrorCode | "unknown_error"): void {
  switch (code) {
    case "service_unavailable":
    case "too_many_requests":
    case "internal_error":
    case "unknown_error":
      return;
    default:
      return;
  }
}

// @ts-expect-error: not an error code of the contract
export const notACode: ErrorCode = "no_such_error_code";
