/** Retries of 429 and 503 with Retry-After and jitter, against a local HTTP server that
 * answers as told. */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";

import { SolaceClient, SolaceError, retryAfterMs, segment } from "../src/index.js";

async function serving(answers: Array<[number, Record<string, string>]>):
    Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    const [status, headers] = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    const body = status >= 400 ? JSON.stringify({ error: { code: status === 429 ? "rate_limited" : "unavailable",
                                                            message: "wait" } }) : JSON.stringify({ status: "ok" });
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

test("a 503 then a 429 are retried after Retry-After plus jitter", async () => {
  const server = await serving([[503, { "Retry-After": "1" }], [429, { "Retry-After": "2" }], [200, {}]]);
  const waits: number[] = [];
  const client = new SolaceClient({ baseUrl: server.url, apiKey: "k", backoffMs: 100, random: () => 0.5,
                                    sleep: async (ms) => { waits.push(ms); } });
  try {
    assert.deepEqual(await client.health(), { status: "ok" });
    assert.equal(server.seen.length, 3);
    assert.deepEqual(waits, [1050, 2050]);
    assert.ok(server.seen.every((s) => s === "GET /healthz Bearer k"));
  } finally {
    await server.close();
  }
});

test("without Retry-After the backoff doubles; after the last retry the error is thrown", async () => {
  const server = await serving([[429, {}]]);
  const waits: number[] = [];
  const client = new SolaceClient({ baseUrl: server.url, apiKey: "k", retries: 2, backoffMs: 100,
                                    random: () => 0, sleep: async (ms) => { waits.push(ms); } });
  try {
    await assert.rejects(client.health(), (e: unknown) => e instanceof SolaceError && e.status === 429);
    assert.equal(server.seen.length, 3);
    assert.deepEqual(waits, [100, 200]);
  } finally {
    await server.close();
  }
});

test("a Retry-After longer than the client accepts is thrown at once", async () => {
  const server = await serving([[503, { "Retry-After": "3600" }], [200, {}]]);
  const client = new SolaceClient({ baseUrl: server.url, apiKey: "k", sleep: async () => {} });
  try {
    await assert.rejects(client.health(), (e: unknown) => e instanceof SolaceError && e.status === 503);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("jitter is random, Retry-After reads seconds and HTTP dates, ids are one segment", async () => {
  const server = await serving([[503, { "Retry-After": "0" }], [503, { "Retry-After": "0" }], [200, {}]]);
  const waits: number[] = [];
  let r = 0;
  const client = new SolaceClient({ baseUrl: server.url, apiKey: "k", backoffMs: 100, random: () => [0.1, 0.9][r++ % 2]!,
                                    sleep: async (ms) => { waits.push(ms); } });
  try {
    await client.health();
    assert.equal(waits.length, 2);
    assert.notEqual(waits[0], waits[1]);
  } finally {
    await server.close();
  }
  assert.equal(retryAfterMs("7"), 7000);
  assert.equal(retryAfterMs(new Date(Date.now() + 5000).toUTCString(), Date.now()) !== undefined, true);
  assert.equal(retryAfterMs("soon"), undefined);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(segment("a?b=c/d#e f"), "a%3Fb%3Dc%2Fd%23e%20f");
});
