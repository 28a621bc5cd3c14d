// Writes the error-code catalogue of openapi.yaml as TypeScript: every code an operation lists
// in `x-error-codes`, plus `x-common-error-codes` and `x-unanswered-error-codes`, as a const
// array and its union type `ErrorCode`. Fails when that set and the enum of `Error.code`
// differ, so the client's enum is the contract's.
//   node scripts/error-codes.mjs ../../openapi.yaml src/generated/error-codes.ts
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parse } from "yaml";

const [spec, out] = process.argv.slice(2);
if (!spec || !out) {
  console.error("usage: node scripts/error-codes.mjs OPENAPI_YAML OUTPUT_TS");
  process.exit(2);
}
const doc = parse(readFileSync(spec, "utf8"));
const codes = new Set([
  ...(doc["x-common-error-codes"] ?? []),
  ...(doc["x-unanswered-error-codes"] ?? []),
]);
const methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
for (const item of Object.values(doc.paths ?? {})) {
  for (const method of methods) {
    for (const code of item?.[method]?.["x-error-codes"] ?? []) codes.add(code);
  }
}
const envelope = new Set(doc.components?.schemas?.Error?.properties?.code?.enum ?? []);
const missing = [...codes].filter((c) => !envelope.has(c));
const unlisted = [...envelope].filter((c) => !codes.has(c));
if (missing.length || unlisted.length) {
  console.error(`error-codes: x-error-codes and the enum of Error.code differ:`);
  if (missing.length) console.error(`  listed but not in Error.code: ${missing.join(", ")}`);
  if (unlisted.length) console.error(`  in Error.code but listed nowhere: ${unlisted.join(", ")}`);
  process.exit(1);
}
const sorted = [...codes].sort();
const body = `// Generated from openapi.yaml by scripts/error-codes.mjs; do not edit.

/** Every \`code\` of the error envelope, from the operations' \`x-error-codes\`. */
export const ERROR_CODES = [
${sorted.map((c) => `  ${JSON.stringify(c)},`).join("\n")}
] as const;

/** A stable machine code of the error envelope \`{code, message, field?}\`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether \`value\` is a code of the catalogue. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, body);
console.log(`error-codes: ${sorted.length} codes -> ${out}`);
