// Runs Node's ws client against the wsapi examples and exits non-zero on
// any mismatch. Each argument is NAME=URL, NAME being the example:
//
//   node client.mjs echo=ws://127.0.0.1:8000/ deps=ws://127.0.0.1:8001/ \
//     chat=ws://127.0.0.1:8002/ autobahn=ws://127.0.0.1:9001/echo
//
// echo, deps and chat take the example's base URL (ending in "/"),
// autobahn the URL of its echo route. Only the named examples are tested.
// shutdown=URL (the echo example's base URL) waits, after printing "ready",
// for the server to close with 1001 when it is stopped.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";

const TIMEOUT_MS = 10000;

// Messages and values: the same as in ../gorilla_test.go.
const echoText = "héllo, wsapi ✓ 数据";
const token = "tok-123";
const cookie = "cookie-abc";

// Client wraps a ws connection with a queue of received messages.
class Client {
  constructor(url, options = {}) {
    this.url = url;
    this.queue = [];
    this.waiters = [];
    this.ws = new WebSocket(url, { handshakeTimeout: TIMEOUT_MS, ...options });
    this.closed = new Promise((resolve) => {
      this.ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.flush();
      });
    });
    this.ws.on("message", (data, isBinary) => {
      this.queue.push({ data: Buffer.from(data), isBinary });
      this.flush();
    });
    this.ws.on("error", (err) => {
      this.error = err;
      this.flush();
    });
  }

  open() {
    return withTimeout(
      new Promise((resolve, reject) => {
        this.ws.once("open", resolve);
        this.ws.once("error", reject);
        this.ws.once("unexpected-response", (req, res) =>
          reject(new Error(`${this.url}: handshake refused with ${res.statusCode}`)),
        );
      }),
      `open ${this.url}`,
    );
  }

  flush() {
    while (this.waiters.length > 0) {
      const w = this.waiters[0];
      if (this.queue.length > 0) {
        this.waiters.shift();
        w.resolve(this.queue.shift());
      } else if (this.error || this.ws.readyState === WebSocket.CLOSED) {
        this.waiters.shift();
        w.reject(this.error || new Error(`${this.url}: connection closed while waiting for a message`));
      } else {
        return;
      }
    }
  }

  next() {
    const p = new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flush();
    return withTimeout(p, `a message on ${this.url}`);
  }

  send(data, binary) {
    return new Promise((resolve, reject) =>
      this.ws.send(data, { binary }, (err) => (err ? reject(err) : resolve())),
    );
  }

  async expectText(want) {
    const m = await this.next();
    assert.equal(m.isBinary, false, `${this.url}: got a binary message, want text ${JSON.stringify(abbrev(want))}`);
    assert.equal(m.data.toString("utf8"), want, `${this.url}: wrong text`);
  }

  async expectBinary(want) {
    const m = await this.next();
    assert.equal(m.isBinary, true, `${this.url}: got a text message, want ${want.length} binary bytes`);
    assert.ok(m.data.equals(want), `${this.url}: binary echo differs (${m.data.length} bytes, want ${want.length})`);
  }

  // close sends a close frame with code and checks that the server answers
  // with the same code (RFC 6455, 5.5.1; wsapi echoes it).
  async close(code = 1000, reason = "") {
    this.ws.close(code, reason);
    const got = await withTimeout(this.closed, `the close handshake on ${this.url}`);
    assert.equal(got.code, code, `${this.url}: server answered close ${code} with ${got.code}`);
  }
}

function abbrev(s) {
  return s.length > 64 ? s.slice(0, 64) + `…(${s.length})` : s;
}

function withTimeout(p, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function connect(url, options) {
  const c = new Client(url, options);
  await c.open();
  return c;
}

const scenarios = {
  // shutdown=BASE connects to the echo example, prints "ready" and waits for
  // the server to close with 1001 (the caller stops the server with SIGINT).
  // ws answers the server's close frame itself.
  async shutdown(base) {
    const c = await connect(base + "ws");
    await c.send("ping", false);
    await c.expectText("Message text was: ping");
    console.log("ready");
    const got = await withTimeout(c.closed, "the server's close frame");
    assert.equal(got.code, 1001, `server closed with ${got.code} ${JSON.stringify(got.reason)}, want 1001`);
  },

  async echo(base) {
    const c = await connect(base + "ws");
    for (const msg of [echoText, "", "second"]) {
      await c.send(msg, false);
      await c.expectText("Message text was: " + msg);
    }
    await c.close(1000);
    // A client going away: the server answers 1001 too.
    const d = await connect(base + "ws");
    await d.send("bye", false);
    await d.expectText("Message text was: bye");
    await d.close(1001, "Going Away");
  },

  async deps(base) {
    // Token in the query.
    let c = await connect(base + "items/foo/ws?token=" + token);
    for (let i = 0; i < 2; i++) {
      await c.send("hi", false);
      await c.expectText("Session or token: " + token);
    }
    await c.close();
    // Session cookie, alone and with a token: the cookie wins.
    for (const path of ["items/foo/ws", "items/foo/ws?token=" + token]) {
      c = await connect(base + path, { headers: { Cookie: "session=" + cookie } });
      await c.send("hi", false);
      await c.expectText("Session or token: " + cookie);
      await c.close();
    }
    // Neither: refused with 403 and a JSON body {code: 1008, detail}.
    const refused = await withTimeout(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(base + "items/foo/ws", { handshakeTimeout: TIMEOUT_MS });
        ws.on("open", () => reject(new Error("the handshake without cookie or token was accepted")));
        ws.on("error", () => {}); // ws emits an error after the response below
        ws.on("unexpected-response", (req, res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => {
            resolve({ status: res.statusCode, type: res.headers["content-type"] || "", body });
            req.destroy();
          });
        });
      }),
      "the refused handshake",
    );
    assert.equal(refused.status, 403, "refusal status");
    assert.match(refused.type, /^application\/json/, "refusal Content-Type");
    const body = JSON.parse(refused.body);
    assert.equal(body.code, 1008, `refusal body ${refused.body}`);
    assert.equal(typeof body.detail, "string", `refusal body ${refused.body}`);
    assert.notEqual(body.detail, "", `refusal body ${refused.body}`);
  },

  async chat(base) {
    const a = await connect(base + "ws/7");
    const b = await connect(base + "ws/8");
    await a.send("hello", false);
    await a.expectText("You wrote: hello");
    await a.expectText("Client #7 says: hello");
    await b.expectText("Client #7 says: hello");

    await b.send("hi 7", false);
    await b.expectText("You wrote: hi 7");
    await b.expectText("Client #8 says: hi 7");
    await a.expectText("Client #8 says: hi 7");

    await a.close();
    await b.expectText("Client #7 left the chat");
    await b.close();
  },

  async autobahn(url) {
    const c = await connect(url, { perMessageDeflate: true });
    const ext = c.ws.extensions;
    assert.match(ext, /^permessage-deflate/, `Sec-WebSocket-Extensions ${JSON.stringify(ext)}: compression not negotiated`);
    console.log(`autobahn: negotiated ${JSON.stringify(ext)}`);
    const shortText = "text ✓";
    const longText = "compress me, please: ✓ ".repeat(400);
    const small = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    const big = randomBytes(1 << 20);
    for (let round = 0; round < 2; round++) {
      await c.send(shortText, false);
      await c.expectText(shortText);
      await c.send(longText, false);
      await c.expectText(longText);
      await c.send(small, true);
      await c.expectBinary(small);
      await c.send(big, true);
      await c.expectBinary(big);
    }
    await c.close();
  },
};

async function main() {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.error("usage: node client.mjs NAME=URL... (NAME: " + Object.keys(scenarios).join(", ") + ")");
    process.exit(2);
  }
  let failed = 0;
  for (const arg of args) {
    const i = arg.indexOf("=");
    const name = arg.slice(0, i);
    const url = arg.slice(i + 1);
    if (i < 0 || !scenarios[name]) {
      console.error(`unknown argument ${JSON.stringify(arg)}`);
      process.exit(2);
    }
    const start = Date.now();
    try {
      await scenarios[name](url);
      console.log(`ok   ${name} (${Date.now() - start} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    }
  }
  console.log(failed === 0 ? `all ${args.length} scenarios ok` : `${failed} of ${args.length} scenarios FAILED`);
  process.exit(failed === 0 ? 0 : 1);
}

main();
