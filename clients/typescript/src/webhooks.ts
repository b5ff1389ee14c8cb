// Checking a delivery before trusting it, in each of the three ways PushGuard signs.
//
// - validSignature: the original API's X-PushGuard-Signature, hex HMAC-SHA512 of the
//   body keyed with the endpoint's secret. Sign the raw bytes you received, never
//   JSON.stringify(payload): JSON written again may differ (spacing, key order,
//   escapes, numbers), so a genuine delivery fails, or two bodies that parse alike
//   verify alike. It has no timestamp, so a captured delivery verifies again: prefer verify.
// - verify: Standard Webhooks v1 (webhook-id, webhook-timestamp, webhook-signature),
//   HMAC-SHA256 of "id.timestamp.body", refusing a timestamp more than 5 minutes off.
// - verifyV1a: the same message signed with the account's ed25519 key, checked with
//   its published public keys (fetched without an API key, kept 5 minutes).

import { createHmac, createPublicKey, timingSafeEqual, verify as verifySignature } from "node:crypto";
import { SignatureVerificationError } from "./core.js";
import type { Resources } from "./generated.js";

export const TOLERANCE_SECONDS = 300;
const PUBLIC_KEYS_TTL_MS = 300_000;
/** DER of an ed25519 SubjectPublicKeyInfo, before the key's 32 bytes. */
const ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** What a thin payload's resource.type names, and the resource that reads it. */
const RESOURCES = {
  order: "orders",
  product: "products",
  category: "categories",
  feedback: "feedback",
  query: "queries",
  blacklist: "blacklists",
} as const;

/** Headers as a receiver has them: a plain object (any case) or a fetch Headers. */
export type IncomingHeaders = Record<string, string | string[] | undefined> | Headers;

export interface VerifyOptions {
  /** Seconds a timestamp may be off (300). */
  tolerance?: number;
  /** Unix seconds now (for tests). */
  now?: number;
}

/** The original API's check: `signature` is X-PushGuard-Signature, `secret` the endpoint's (whsec_...). */
export function validSignature(rawBody: Buffer | string, signature: string | undefined | null, secret: string): boolean {
  if (typeof signature !== "string") return false;
  const expected = createHmac("sha512", secret).update(rawBody).digest("hex");
  return equal(expected, signature);
}

/** Standard Webhooks v1: the parsed event, or a SignatureVerificationError. */
export function verify<T = unknown>(rawBody: Buffer | string, headers: IncomingHeaders, secret: string, options: VerifyOptions = {}): T {
  const { id, timestamp, signatures } = parts(headers, options);
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(rawBody).digest("base64");
  const valid = signatures.some((entry) => {
    const [version, signature] = split(entry);
    return version === "v1" && equal(expected, signature);
  });
  if (!valid) throw new SignatureVerificationError("No v1 signature matches the secret");
  return JSON.parse(rawBody.toString()) as T;
}

/** v1a (ed25519): the parsed event, or a SignatureVerificationError. `publicKeys` are "whpk_..." strings. */
export function verifyV1a<T = unknown>(rawBody: Buffer | string, headers: IncomingHeaders, publicKeys: string[], options: VerifyOptions = {}): T {
  const { id, timestamp, signatures } = parts(headers, options);
  const message = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(rawBody)]);
  const keys = publicKeys.map((key) =>
    createPublicKey({ key: Buffer.concat([ED25519_PREFIX, Buffer.from(key.replace(/^whpk_/, ""), "base64")]), format: "der", type: "spki" }),
  );
  const valid = signatures.some((entry) => {
    const [version, signature] = split(entry);
    return version === "v1a" && keys.some((key) => verifySignature(null, message, key, Buffer.from(signature, "base64")));
  });
  if (!valid) throw new SignatureVerificationError("No v1a signature matches the account's public keys");
  return JSON.parse(rawBody.toString()) as T;
}

const published = new Map<string, { until: number; keys: { key: string; mode: string }[] }>();

/** The account's published public keys ("whpk_..."), of one mode if given, kept 5 minutes. */
export async function publishedKeys(client: Resources, accountId: string, mode?: string): Promise<string[]> {
  let cached = published.get(accountId);
  if (!cached || cached.until < Date.now()) {
    const answer = (await client.webhooks.publicKeys.retrieve(accountId)) as unknown as { keys: { key: string; mode: string }[] };
    cached = { until: Date.now() + PUBLIC_KEYS_TTL_MS, keys: answer.keys };
    published.set(accountId, cached);
  }
  return cached.keys.filter((key) => mode === undefined || key.mode === mode).map((key) => key.key);
}

/** A thin delivery's object as it is now, read with `client`'s key (undefined when the event names none, as a ping). */
export async function fetchResource(client: Resources, event: { resource?: { type: string; id: string } | null }): Promise<unknown> {
  const resource = event.resource;
  if (!resource) return undefined;
  const name = RESOURCES[resource.type as keyof typeof RESOURCES];
  if (!name) throw new TypeError(`no resource reads ${resource.type}`);
  return client[name].retrieve(resource.id);
}

function header(headers: IncomingHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function parts(headers: IncomingHeaders, options: VerifyOptions): { id: string; timestamp: string; signatures: string[] } {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = (header(headers, "webhook-signature") ?? "").split(" ").filter(Boolean);
  if (!id || !timestamp || signatures.length === 0) {
    throw new SignatureVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature");
  }
  if (!/^\d+$/.test(timestamp)) throw new SignatureVerificationError("webhook-timestamp is not a number");
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.tolerance ?? TOLERANCE_SECONDS)) {
    throw new SignatureVerificationError("webhook-timestamp is too old or in the future: a replay?");
  }
  return { id, timestamp, signatures };
}

function split(entry: string): [string, string] {
  const at = entry.indexOf(",");
  return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
