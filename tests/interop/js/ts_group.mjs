// Drives a Switchboard *group* endpoint (/groups/<name>/mcp) with the official
// TypeScript MCP SDK (@modelcontextprotocol/sdk, pinned in tests/interop/conftest.py).
// Every protocol behaviour is the SDK's; this script only sequences the steps.
//
// Usage: node ts_group.mjs <group mcp url>   (env SB_NODE_MODULES: the SDK's node_modules)
// Phases, each reported as one JSON line on stdout ({"phase": ..., ...}); after each
// phase but the last the script waits for a line on stdin (the Python test changes the
// group or its members in between):
//   calls   - tools/list, a call to each member, a filtered tool refused, sampling
//             from server-everything answered by this client, progress notifications
//   edit    - after the test edits the group: list_changed seen, tools listed again
//   restart - after the test restarts a member: list_changed seen, its tools back
//   killed  - a long call whose member the test kills: the error the SDK got

import { join } from "node:path";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const NM = process.env.SB_NODE_MODULES;
if (!NM) throw new Error("SB_NODE_MODULES is not set");
const sdk = (p) =>
  import(pathToFileURL(join(NM, "@modelcontextprotocol", "sdk", "dist", "esm", p)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { CreateMessageRequestSchema, ToolListChangedNotificationSchema } = await sdk("types.js");

const [url] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const report = (phase, value) => process.stdout.write(JSON.stringify({ phase, ...value }) + "\n");
const texts = (r) => r.content.filter((c) => c.type === "text").map((c) => c.text);
const errors = [];

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: String(e?.message ?? e) };
  }
}

let changed = 0;
const sampled = [];
const client = new Client({ name: "ts-group", version: "1.0.0" }, { capabilities: { sampling: {} } });
client.onerror = (e) => errors.push(String(e?.message ?? e));
client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
  const text = req.params.messages[0].content.text;
  sampled.push(text);
  return {
    role: "assistant",
    model: "ts-group-model",
    content: { type: "text", text: `group-sampled<${text}>` },
  };
});
client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
  changed += 1;
});
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);
const names = async () => (await client.listTools()).tools.map((t) => t.name);

async function waitChanged(since, ms = 20000) {
  for (let t = 0; t < ms && changed <= since; t += 50) await sleep(50);
  return changed > since;
}

// -- calls ------------------------------------------------------------------------
const out = { tools: await names(), caps: client.getServerCapabilities() };
out.echo = await attempt(async () =>
  texts(await client.callTool({ name: "everything__echo", arguments: { message: "hi group" } })),
);
out.fs = await attempt(async () =>
  texts(await client.callTool({ name: "filesystem__list_allowed_directories", arguments: {} })),
);
out.time = await attempt(async () =>
  texts(
    await client.callTool({
      name: "time__get_current_time",
      arguments: { timezone: "Europe/Paris" },
    }),
  ),
);
out.filtered = await attempt(async () =>
  client.callTool({ name: "filesystem__write_file", arguments: { path: "/x", content: "y" } }),
);
out.sampling = await attempt(async () =>
  texts(
    await client.callTool({
      name: "everything__trigger-sampling-request",
      arguments: { prompt: "group-prompt", maxTokens: 5 },
    }),
  ),
);
out.sampled = sampled;
out.progress = await attempt(async () => {
  const seen = [];
  const result = await client.callTool(
    { name: "everything__trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
    undefined,
    { onprogress: (p) => seen.push([p.progress, p.total]) },
  );
  return { seen, text: texts(result) };
});
report("calls", out);
await lines.next();

// -- edit -------------------------------------------------------------------------
let before = 0;
report("edit", { changed: await waitChanged(before), tools: await names() });
before = changed;
await lines.next();

// -- restart ----------------------------------------------------------------------
const seen = await waitChanged(before);
let back = await names();
for (let t = 0; t < 20000 && !back.includes("time__get_current_time"); t += 200) {
  await sleep(200);
  back = await names();
}
report("restart", { changed: seen, tools: back });

// -- killed -----------------------------------------------------------------------
const started = Date.now();
const call = attempt(() =>
  client.callTool(
    { name: "everything__trigger-long-running-operation", arguments: { duration: 60, steps: 60 } },
    undefined,
    { timeout: 120000 },
  ),
);
await sleep(300);
report("calling", {});
const got = await call;
report("killed", { ...got, seconds: (Date.now() - started) / 1000, errors });
await transport.terminateSession?.().catch(() => {});
await client.close();
process.exit(0);
