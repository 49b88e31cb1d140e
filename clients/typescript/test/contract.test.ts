/** The client agrees with the running server's OpenAPI document: every operation it calls
 * exists there with that method. (tests/test_typescript_client.py also compiles the client
 * against types freshly generated from that document.) */
import assert from "node:assert/strict";
import { test } from "node:test";

import { ENDPOINTS } from "../src/index.js";
import { baseUrl } from "./server.js";

test("every operation the client calls is in the server's OpenAPI document", async () => {
  const response = await fetch(`${baseUrl()}/openapi.json`);
  assert.equal(response.status, 200);
  const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
  const missing = ENDPOINTS.filter(([method, path]) => !(document.paths[path]?.[method.toLowerCase()]));
  assert.deepEqual(missing, []);
});
