// PushGuard's API from TypeScript and Node.js 18+:
//
//   import { Client } from "pushguard";
//   const client = new Client({ apiKey: "...", apiEmail: "you@example.com" });
//   for await (const order of (await client.orders.list({ per_page: 50 })).autoPagingIter()) { ... }
//
// Every operation of the API is a method of its resource (generated from the API's
// OpenAPI document); `webhooks` checks deliveries.

import { type ClientOptions, Transport } from "./core.js";
import { OPERATIONS, Resources } from "./generated.js";

export * from "./core.js";
export * from "./generated.js";
export * as webhooks from "./webhooks.js";

/** One set of credentials and settings: `client.webhooks.endpoints.create({ url, events })`. */
export class Client extends Resources {
  constructor(options: ClientOptions) {
    super(new Transport(options, OPERATIONS));
  }

  /** `method` on `path` (`/api/v2/...`), for what the generated methods do not cover. */
  request(method: string, path: string, query?: Record<string, unknown>, body?: Record<string, unknown>): Promise<[unknown, Headers]> {
    return this.transport.request(method, path, query, body);
  }
}
