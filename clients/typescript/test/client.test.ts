/** The client against a real running Solace server (`solace serve`). */
import assert from "node:assert/strict";
import { test } from "node:test";

import { SolaceError, type FeedEntry, type RecommendedItem } from "../src/index.js";
import { editor, platform, reviewer, unique } from "./server.js";

test("health and ranked suggestions, typed", async () => {
  const solace = platform();
  assert.deepEqual(await solace.health(), { status: "ok" });
  const list = await solace.recommendations(`ts-user-${unique()}`, { k: 3 });
  assert.ok(list.items.length > 0 && list.items.length <= 3);
  const item: RecommendedItem = list.items[0]!;
  assert.equal(typeof item.resource_id, "string");
  assert.ok(["none", "concern", "crisis"].includes(list.risk ?? "none"));
});

test("ids are escaped as one segment and Date timestamps are sent as ISO 8601", async () => {
  const solace = platform();
  // an id with "?" stays one (refused) id, not a query string: the server names the field
  await assert.rejects(solace.recommendations("a?b=c", { k: 1 }), (e: unknown) =>
    e instanceof SolaceError && e.status === 422 && e.field === "user_id");
  const odd = `tenant-user:${unique()}.x_y-z`;
  const first = await solace.recommendations(odd, { k: 1 });
  const rid = first.items[0]!.resource_id;
  const sent = await solace.sendEvents([{ event_id: `ts-${unique()}`, user_id: odd, resource_id: rid, type: "complete",
                                          timestamp: new Date() }]);
  assert.deepEqual(sent, { accepted: 1, duplicates: 0 });
  const held = await solace.getUser(odd);
  assert.deepEqual((held.derived as { completed: string[] }).completed, [rid]);
  assert.equal(held.events.length, 1);
  assert.throws(() => solace.recommendations("..", { k: 1 }), SolaceError);
});

test("an error is a SolaceError naming the field, for types TypeScript would have refused", async () => {
  const solace = platform();
  await assert.rejects(solace.recommend({ k: true } as never), (error: unknown) => {
    assert.ok(error instanceof SolaceError);
    assert.equal(error.status, 422);
    assert.equal(error.field, "k");
    return true;
  });
  await assert.rejects(solace.similar(`no-such-${unique()}`), (error: unknown) =>
    error instanceof SolaceError && error.status === 404 && error.code === "not_found");
});

test("an exercise's steps render from the recommendation response alone", async () => {
  const solace = platform();
  const list = await solace.recommend({ features: ["topic:anxiety"], types: ["exercise"], k: 2,
                                        fields: ["summary", "steps", "duration_minutes"] });
  const exercise = list.items.find((i) => i.type === "exercise");
  assert.ok(exercise, "an exercise was recommended");
  const content = exercise.content as { steps: string[]; summary: string };
  assert.ok(content.steps.length >= 2 && content.steps.every((s) => typeof s === "string"));
  assert.ok(content.summary.length > 0);
});

test("search, similar and a platform's read of one resource", async () => {
  const solace = platform();
  const found = await solace.search("cannot fall asleep at night", { k: 3 });
  assert.ok(found.items.length > 0);
  const rid = found.items[0]!.resource_id;
  assert.ok((await solace.similar(rid, 2)).items.every((i) => i.resource_id !== rid));
  const one = await solace.resource(rid);
  assert.equal((one as { resource: { id: string } }).resource.id, rid);
});

test("profile, export and erasure", async () => {
  const solace = platform();
  const user = `ts-erase-${unique()}`;
  await solace.putUser(user, { features: ["topic:sleep"], locale: "en", opt_outs: ["grief"] });
  assert.deepEqual((await solace.getUser(user)).profile?.opt_outs, ["grief"]);
  await solace.deleteUser(user);
  const after = await solace.getUser(user);
  assert.equal(after.profile, null);
  assert.deepEqual(after.events, []);
});

test("mirror the catalog through the feed, then 304 while nothing changed", async () => {
  const solace = platform();
  const mirror = new Map<string, FeedEntry>();
  const cursor = await solace.syncCatalog((entries) => {
    for (const e of entries) e.deleted ? mirror.delete(e.resource_id) : mirror.set(e.resource_id, e);
  }, undefined, 60);
  assert.ok(mirror.size > 50);
  const caughtUp = await solace.catalogFeed({ cursor });
  assert.equal(caughtUp.notModified, false);
  const again = await solace.catalogFeed({ cursor, etag: caughtUp.etag ?? "" });
  assert.equal(again.notModified, true);
  await assert.rejects(solace.catalogFeed({ cursor: cursor.slice(0, -2) }), (e: unknown) =>
    e instanceof SolaceError && e.status === 422 && e.field === "cursor");
});

test("the editors' workflow: create, patch with If-Match (a stale version is a 409), review, then served", async () => {
  const author = editor();
  const checker = reviewer();
  const id = `zz-ts-${unique()}`;
  const created = await author.createResource({
    id, type: "article", title: "A TypeScript-made article", summary: "Made by the TypeScript client's test.",
    body: "Body text a platform renders.", topics: ["sleep"], duration_minutes: 3, locales: ["en"],
  } as never);
  assert.equal(created.version, 1);
  const patched = await author.patchResource(id, { title: "A TypeScript-made article, revised" }, created.version);
  assert.equal(patched.version, 2);
  await assert.rejects(author.patchResource(id, { title: "Lost update" }, created.version), (e: unknown) =>
    e instanceof SolaceError && e.status === 409);
  await author.reviewResource(id, "submit");
  const approved = await checker.reviewResource(id, "approve");
  assert.equal((approved.resource as { status: string }).status, "approved");
  const listed = await author.listResources({ status: "approved", limit: 500 });
  assert.ok(listed.items.some((s) => (s.resource as { id: string }).id === id));
  const served = await platform().resource(id);
  assert.equal((served as { resource: { title: string } }).resource.title, "A TypeScript-made article, revised");
  const figures = await author.analyticsResources({ since: new Date(Date.now() - 7 * 86400_000) });
  assert.match(String(figures.since), /^\d{4}-\d{2}-\d{2}$/);
});
