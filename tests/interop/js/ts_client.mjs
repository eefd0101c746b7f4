// Drives a Switchboard gateway with the official TypeScript MCP SDK
// (@modelcontextprotocol/sdk, the exact version pinned in tests/interop/conftest.py;
// every client-side behaviour below -- discovery, DCR, PKCE, token refresh, request
// cancellation, the Streamable HTTP transport -- is that package's code, not ours).
//
// Usage: node ts_client.mjs <scenario> <mcp url>
//   env SB_NODE_MODULES: the node_modules directory the SDK was installed into.
// Prints one JSON object (the scenario's observations) as the last line of stdout;
// diagnostics go to stderr. Exit code 0 unless the script itself broke.
//
// Only the OAuthClientProvider is ours, as every application writes its own: tokens,
// client information and the PKCE verifier in memory, and a "browser" that opens the
// authorize URL (Switchboard's consent page), posts the page's form back the way its
// script does (that request waits until the person decided in the app; the Python test
// decides through the engine's ConsentBroker) and follows the 303 to our loopback
// redirect URI, where a real HTTP listener captures the authorization code.

import { randomUUID } from "node:crypto";
import http from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const NM = process.env.SB_NODE_MODULES;
if (!NM) throw new Error("SB_NODE_MODULES is not set");
const sdk = (p) =>
  import(pathToFileURL(join(NM, "@modelcontextprotocol", "sdk", "dist", "esm", p)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { SSEClientTransport } = await sdk("client/sse.js");
const { UnauthorizedError } = await sdk("client/auth.js");
const {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
} = await sdk("types.js");

const [scenario, url] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => process.stderr.write(`[ts_client] ${a.join(" ")}\n`);

/** Every HTTP request the SDK made (method, path, status; form bodies of /oauth/*). */
const requests = [];
async function loggedFetch(input, init) {
  const target = typeof input === "string" ? input : (input.href ?? input.url);
  const method = init?.method ?? "GET";
  const path = new URL(target).pathname;
  const body = path.startsWith("/oauth/") && init?.body ? String(init.body) : undefined;
  const res = await fetch(input, init);
  requests.push({ method, path, status: res.status, body });
  return res;
}

/** Errors the SDK reported through Client.onerror, labelled by client; those of the
 * first connect that only triggers the sign-in (an expected UnauthorizedError) apart. */
const errors = [];
const signInErrors = [];
/** What a client reports while the script closes it (not part of what a test checks). */
const teardownErrors = [];

class Provider {
  constructor(name) {
    this.name = name;
    this.saved = []; // every token set the SDK saved, in order
    this.authorizeUrls = [];
    this.callbacks = [];
    this._tokens = undefined;
    this._client = undefined;
    this._verifier = undefined;
    this.code = undefined;
  }

  /** The loopback redirect listener (RFC 8252 section 7.3). */
  async listen() {
    this.server = http.createServer((req, res) => {
      const q = new URL(req.url, "http://127.0.0.1").searchParams;
      this.callbacks.push(Object.fromEntries(q));
      this.code = q.get("code") ?? undefined;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("You can close this window.");
    });
    await new Promise((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = this.server.address().port;
  }

  close() {
    this.server?.close();
  }

  get redirectUrl() {
    return `http://127.0.0.1:${this.port}/callback`;
  }

  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  state() {
    return randomUUID(); // the SDK puts it on the authorize URL; the test checks it returns
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this._client = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
    this.saved.push(tokens);
  }

  saveCodeVerifier(verifier) {
    this._verifier = verifier;
  }

  codeVerifier() {
    if (!this._verifier) throw new Error("no code verifier saved");
    return this._verifier;
  }

  async redirectToAuthorization(authorizationUrl) {
    this.authorizeUrls.push(String(authorizationUrl));
    const page = await fetch(authorizationUrl, { redirect: "manual" });
    let location;
    if (page.status === 200) {
      const html = await page.text();
      const field = (name) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
      const rid = field("request_id");
      const csrf = field("csrf_token");
      const action = /<form[^>]* action="([^"]+)"/.exec(html)?.[1];
      if (!rid || !csrf || !action) throw new Error(`not a consent page: ${html.slice(0, 300)}`);
      const cookie = page.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      // What the page's script does: post the form; the answer comes once the person
      // decided in the app.
      const decided = await fetch(new URL(action, authorizationUrl), {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie },
        body: new URLSearchParams({ request_id: rid, csrf_token: csrf }),
      });
      if (decided.status !== 303) {
        throw new Error(`consent continue answered ${decided.status}: ${await decided.text()}`);
      }
      location = decided.headers.get("location");
    } else if (page.status === 302 || page.status === 303) {
      location = page.headers.get("location"); // remembered consent, or an error redirect
    } else {
      throw new Error(`authorize answered ${page.status}: ${await page.text()}`);
    }
    const back = await fetch(location); // our loopback listener
    if (back.status !== 200) throw new Error(`redirect URI answered ${back.status}`);
    if (!this.code) throw new Error(`no code in the redirect: ${location}`);
  }
}

/** A connected SDK Client; runs the sign-in when the provider has no token yet. */
async function connect(provider, label, { capabilities = {}, setup, legacy = false } = {}) {
  const make = (sink) => {
    const client = new Client({ name: label, version: "1.0.0" }, { capabilities });
    client.onerror = (e) =>
      (client.sbClosing ? teardownErrors : sink).push({
        client: label,
        message: String(e?.message ?? e),
      });
    setup?.(client);
    const Transport = legacy ? SSEClientTransport : StreamableHTTPClientTransport;
    const transport = new Transport(new URL(url), { authProvider: provider, fetch: loggedFetch });
    return { client, transport };
  };
  let { client, transport } = make(provider.tokens() ? errors : signInErrors);
  try {
    await client.connect(transport);
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    await transport.finishAuth(provider.code);
    ({ client, transport } = make(errors));
    await client.connect(transport);
  }
  client.sbTransport = transport;
  return client;
}

async function disconnect(client) {
  client.sbClosing = true;
  try {
    await client.sbTransport.terminateSession?.();
  } catch (e) {
    log("terminateSession:", e);
  }
  await client.close();
}

/** Runs one step; its value or its error goes into the report. */
async function step(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: String(e?.stack ?? e) };
  }
}

const texts = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text);

const scenarios = {
  /** Discovery -> DCR -> PKCE -> token, then tools/list and tools/call. */
  async signin() {
    const provider = new Provider("ts-sdk-signin");
    await provider.listen();
    const client = await connect(provider, "signin");
    const tools = await client.listTools();
    const echo = await client.callTool({
      name: "echo",
      arguments: { message: "hello from the TypeScript SDK" },
    });
    await disconnect(client);
    provider.close();
    return {
      tools: tools.tools.map((t) => t.name),
      echo: texts(echo),
      tokens: provider._tokens,
      saved: provider.saved.length,
      clientInfo: provider._client,
      verifier: provider._verifier,
      authorizeUrls: provider.authorizeUrls,
      callbacks: provider.callbacks,
      redirectUrl: provider.redirectUrl,
    };
  },

  /** The same sign-in and a call over the legacy HTTP+SSE transport (2024-11-05). */
  async sse() {
    const provider = new Provider("ts-sdk-sse");
    await provider.listen();
    const client = await connect(provider, "sse", { legacy: true });
    const echo = await client.callTool({ name: "echo", arguments: { message: "over SSE" } });
    await disconnect(client);
    provider.close();
    return { echo: texts(echo), tokens: provider._tokens };
  },

  /** Resources, prompts, progress, sampling and elicitation on one session. */
  async features() {
    const provider = new Provider("ts-sdk-features");
    await provider.listen();
    const sampled = [];
    const elicited = [];
    const client = await connect(provider, "features", {
      capabilities: { sampling: {}, elicitation: {} },
      setup(c) {
        c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
          const text = req.params.messages[0].content.text;
          sampled.push(text);
          return {
            role: "assistant",
            model: "ts-test-model",
            content: { type: "text", text: `ts-sampled<${text}>` },
          };
        });
        c.setRequestHandler(ElicitRequestSchema, async (req) => {
          elicited.push(req.params.message);
          return {
            action: "accept",
            content: { name: "Ada Lovelace", check: true, integer: 7 },
          };
        });
      },
    });
    const out = {};
    out.resources = await step(async () => {
      const listed = await client.listResources();
      const uris = listed.resources.map((r) => r.uri);
      const doc = uris.find((u) => u.startsWith("demo://resource/static/document/"));
      const read = await client.readResource({ uri: doc });
      const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/7" });
      return { uris, doc, docText: read.contents[0].text, dynamicText: dynamic.contents[0].text };
    });
    out.prompts = await step(async () => {
      const listed = await client.listPrompts();
      const got = await client.getPrompt({
        name: "args-prompt",
        arguments: { city: "Lyon", state: "Rhone" },
      });
      return {
        names: listed.prompts.map((p) => p.name),
        messages: got.messages.map((m) => m.content.text),
      };
    });
    out.completion = await step(async () => {
      await client.ping();
      const done = await client.complete({
        ref: { type: "ref/prompt", name: "completable-prompt" },
        argument: { name: "name", value: "" },
        context: { arguments: { department: "Sales" } },
      });
      return done.completion.values;
    });
    out.progress = await step(async () => {
      const seen = [];
      const result = await client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
        undefined,
        { onprogress: (p) => seen.push(p) },
      );
      return { seen, text: texts(result) };
    });
    out.sampling = await step(async () => {
      const result = await client.callTool({
        name: "trigger-sampling-request",
        arguments: { prompt: "ts-prompt-42", maxTokens: 10 },
      });
      return { text: texts(result), sampled: [...sampled] };
    });
    out.elicitation = await step(async () => {
      const result = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
      return { text: texts(result), elicited: [...elicited] };
    });
    await disconnect(client);
    provider.close();
    return out;
  },

  /** Abort a slow tool call after its first progress notification. */
  async cancel() {
    const provider = new Provider("ts-sdk-cancel");
    await provider.listen();
    const client = await connect(provider, "cancel");
    const controller = new AbortController();
    const progress = [];
    let aborted;
    try {
      await client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 20, steps: 40 } },
        undefined,
        {
          signal: controller.signal,
          onprogress: (p) => {
            progress.push(p);
            controller.abort("the user stopped it");
          },
        },
      );
      aborted = { rejected: false };
    } catch (e) {
      aborted = { rejected: true, message: String(e?.message ?? e) };
    }
    await sleep(1500); // whatever the gateway sends about the cancelled call arrives now
    const after = await step(async () =>
      texts(await client.callTool({ name: "echo", arguments: { message: "still here" } })),
    );
    await sleep(300);
    await disconnect(client);
    provider.close();
    return { progress, aborted, after };
  },

  /** A call after the access token expired refreshes it (rotated refresh token). */
  async refresh() {
    const provider = new Provider("ts-sdk-refresh");
    await provider.listen();
    const client = await connect(provider, "refresh");
    const before = texts(await client.callTool({ name: "echo", arguments: { message: "before" } }));
    const first = provider._tokens;
    const wait = (Number(first.expires_in) + 2) * 1000;
    log(`waiting ${wait} ms for the access token to expire`);
    await sleep(wait);
    const after = await step(async () =>
      texts(await client.callTool({ name: "echo", arguments: { message: "after expiry" } })),
    );
    await disconnect(client);
    provider.close();
    return { before, after, saved: provider.saved };
  },

  /** Resource subscriptions: only the subscribed session hears about updates. */
  async subscribe() {
    const provider = new Provider("ts-sdk-subscribe");
    await provider.listen();
    const heard = { subscriber: [], bystander: [] };
    const session = async (label) =>
      connect(provider, label, {
        setup(c) {
          c.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
            heard[label].push(n.params.uri);
          });
        },
      });
    const subscriber = await session("subscriber");
    const bystander = await session("bystander");
    const uri = "demo://resource/dynamic/text/3";
    await subscriber.subscribeResource({ uri });
    const toggle = async () =>
      texts(await subscriber.callTool({ name: "toggle-subscriber-updates", arguments: {} }));
    const started = await toggle(); // the server sends one update right away
    for (let i = 0; i < 50 && heard.subscriber.length === 0; i++) await sleep(100);
    await bystander.ping(); // the bystander's session is alive and reachable
    await sleep(300);
    const stopped = await toggle();
    await subscriber.unsubscribeResource({ uri });
    await disconnect(subscriber);
    await disconnect(bystander);
    provider.close();
    return { uri, started, stopped, heard };
  },

  /** Two apps (two OAuth clients) with different workspace roots ask the server for
   * the roots it knows, one after the other. */
  async roots() {
    const out = {};
    for (const label of ["roots-a", "roots-b"]) {
      const provider = new Provider(`ts-sdk-${label}`);
      await provider.listen();
      const asked = [];
      const client = await connect(provider, label, {
        capabilities: { roots: { listChanged: true } },
        setup(c) {
          c.setRequestHandler(ListRootsRequestSchema, async () => {
            asked.push(label);
            return { roots: [{ uri: `file:///home/person/${label}`, name: label }] };
          });
        },
      });
      const listed = await step(async () =>
        texts(await client.callTool({ name: "get-roots-list", arguments: {} })),
      );
      await disconnect(client);
      provider.close();
      out[label] = { listed, asked };
    }
    return out;
  },

  /** Three clients call a sampling and an elicitation tool of one server at once. */
  async multi() {
    const provider = new Provider("ts-sdk-multi");
    await provider.listen();
    const labels = ["client-a", "client-b", "client-c"];
    const seen = Object.fromEntries(labels.map((l) => [l, { sampled: [], elicited: [] }]));
    const clients = [];
    for (const label of labels) {
      // The first one signs in; the others reuse its token (separate sessions).
      clients.push(
        await connect(provider, label, {
          capabilities: { sampling: {}, elicitation: {} },
          setup(c) {
            c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
              const text = req.params.messages[0].content.text;
              seen[label].sampled.push(text);
              return {
                role: "assistant",
                model: label,
                content: { type: "text", text: `${label} answers ${text}` },
              };
            });
            c.setRequestHandler(ElicitRequestSchema, async (req) => {
              seen[label].elicited.push(req.params.message);
              return { action: "accept", content: { answer: `${label} confirms` } };
            });
          },
        }),
      );
    }
    const rounds = 3;
    const results = await Promise.all(
      clients.map(async (client, i) => {
        const label = labels[i];
        const mine = { asks: [], confirms: [] };
        for (let j = 0; j < rounds; j++) {
          const [ask, confirm] = await Promise.all([
            step(async () =>
              texts(
                await client.callTool({
                  name: "ask",
                  arguments: { prompt: `${label} round ${j}` },
                }),
              ),
            ),
            step(async () =>
              texts(
                await client.callTool({
                  name: "confirm",
                  arguments: { question: `${label} question ${j}?` },
                }),
              ),
            ),
          ]);
          mine.asks.push(ask);
          mine.confirms.push(confirm);
        }
        return [label, mine];
      }),
    );
    for (const client of clients) await disconnect(client);
    provider.close();
    return { labels, rounds, seen, results: Object.fromEntries(results) };
  },
};

const run = scenarios[scenario];
if (!run) throw new Error(`unknown scenario ${scenario}`);
const result = await run();
process.stdout.write(`${JSON.stringify({ scenario, result, errors, signInErrors, teardownErrors, requests })}\n`);
process.exit(0);
