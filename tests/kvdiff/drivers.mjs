// drivers.mjs - the differential test's two drivers: each runs the
// operations of tests/kvdiff/ops, in order, one through Miniflare's Workers
// KV binding and one through kvctl, and writes one normalised JSON result
// a line (the forms are described at the top of kvdiff.mjs).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the list of operations ----------------------------------------------

export function readOps(path) {
	const ops = [];
	readFileSync(path, "utf8").split("\n").forEach((line, i) => {
		if (!line.trim() || line.startsWith("#"))
			return;
		try {
			ops.push(JSON.parse(line));
		} catch (e) {
			throw new Error(`${path}:${i + 1}: ${e.message}`);
		}
	});
	return ops;
}

// A key (or metadata text): a string, or parts "text" / ["text", N].
function expand(spec) {
	if (typeof spec === "string")
		return spec;
	return spec.map((p) => typeof p === "string" ? p : p[0].repeat(p[1]))
		.join("");
}

function keyList(spec) {
	if (Array.isArray(spec))
		return spec.map(expand);
	const keys = [];
	for (let i = spec.from; i < spec.from + spec.n; i++)
		keys.push(spec.fmt.replace("%04d", String(i).padStart(4, "0")));
	return keys;
}

// A value: its bytes, and whether the spec gave it as text.
function valueBytes(spec) {
	if (typeof spec === "string")
		return Buffer.from(spec, "utf8");
	if (spec.hex !== undefined)
		return Buffer.from(spec.hex, "hex");
	if (spec.all)
		return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
	return Buffer.alloc(spec.n, spec.fill);
}

function expiration(op) {
	if (!op.exp)
		return undefined;
	return op.exp.at !== undefined ? op.exp.at : now() + op.exp.in;
}

// --- normal forms ----------------------------------------------------------

function bytesRes(buf) {
	if (buf.length <= 64)
		return { hex: buf.toString("hex") };
	return { len: buf.length,
		 sha256: createHash("sha256").update(buf).digest("hex") };
}

const textRes = (s) => bytesRes(Buffer.from(s, "utf8"));

// JSON as JSON.stringify writes it: both sides parse what they got.
const canon = (v) => JSON.stringify(v);

// An expiration as far as it can be compared between two runs: a fixed
// time (ops gives them years ahead) as it is, one relative to now as the
// next 100 s above it.
function expRes(exp, at) {
	if (exp === undefined || exp === null)
		return undefined;
	if (exp - at > 1000000)
		return exp;
	return `now+${Math.ceil((exp - at) / 100) * 100}`;
}

function listRes(page, at) {
	const keys = page.keys.map((k) => {
		const o = { name: k.name };
		const e = expRes(k.expiration, at);
		if (e !== undefined)
			o.expiration = e;
		if (k.metadata !== undefined && k.metadata !== null)
			o.metadata = canon(k.metadata);
		return o;
	});
	return { keys, list_complete: page.list_complete };
}

function listShape(page) {
	const meta = new Set(page.keys.map((k) =>
		!("metadata" in k) ? "absent" :
		k.metadata === null ? "null" : "set"));
	const cursor = !("cursor" in page) ? "absent" :
		page.cursor === "" ? "empty" : "set";
	return { metadata: [...meta].sort().join(","), cursor };
}

// Pages of a list followed to the end: their sizes and every name.
function pagesRes(pages, at) {
	const names = [];
	const sizes = [];
	let last;
	for (const p of pages) {
		const r = listRes(p, at);
		sizes.push(r.keys.length);
		for (const k of r.keys)
			names.push(k.name);
		last = r;
	}
	const res = { pages: sizes, complete: last.list_complete,
		      count: names.length, first: names[0],
		      last: names[names.length - 1] };
	res.names = names.length <= 50 ? names :
		createHash("sha256").update(names.join("\n")).digest("hex");
	return res;
}

function refused(kind) {
	return { refused: kind };
}

// The binding's errors, by their message.
function bindingKind(msg) {
	const m = msg.toLowerCase();
	if (/cannot be empty|must not be empty|not allowed as a key/.test(m) ||
	    /illegal key name/.test(m))
		return "key-invalid";
	if (/key length limit|key.*too long/.test(m))
		return "key-length";
	if (/value length/.test(m))
		return "value-size";
	if (/metadata length/.test(m))
		return "metadata-size";
	if (/metadata/.test(m))
		return "metadata-invalid";
	if (/expiration/.test(m))
		return "expiration";
	if (/key_count_limit/.test(m))
		return "limit";
	if (/maximum of 100 keys/.test(m))
		return "bulk-count";
	if (/not valid json|unexpected token|json/.test(m))
		return "not-json";
	return "other: " + msg.split("\n")[0].slice(0, 120);
}

// kvctl's errors, by their message (one line on stderr).
function kvctlKind(msg) {
	const m = msg.toLowerCase();
	if (/cannot hold the key|empty, '\.' or '\.\.' segment/.test(m))
		return "key-path";
	if (/max_key_size|key is too long|longer than any key/.test(m))
		return "key-length";
	if (/key is empty|not allowed as a key|is not a key|invalid key/.test(m))
		return "key-invalid";
	if (/itself a key|a directory has the key's name/.test(m))
		return "key-conflict";
	if (/max_value_size/.test(m))
		return "value-size";
	if (/max_metadata_size/.test(m))
		return "metadata-size";
	if (/metadata/.test(m))
		return "metadata-invalid";
	if (/expiration/.test(m))
		return "expiration";
	if (/--limit/.test(m))
		return "limit";
	if (/at most 100 keys|100 keys/.test(m))
		return "bulk-count";
	if (/not json/.test(m))
		return "not-json";
	if (/not utf-8/.test(m))
		return "not-utf8";
	return "other: " + msg.trim().split("\n")[0].slice(-120);
}

// --- the binding -----------------------------------------------------------

// One namespace of the binding, as the Worker (worker.mjs) calls it.
class Binding {
	constructor(mf, ns) {
		this.mf = mf;
		this.ns = ns;
	}

	/* A request that did not reach the Worker or whose answer did not
	 * come back ("fetch failed", seen on a loaded machine) is no answer
	 * of the binding: it is sent again, as every call here may be. */
	async call(call, ...args) {
		let res;
		for (let tries = 1; ; tries++) {
			try {
				res = await this.mf.dispatchFetch("http://kvdiff/", {
					method: "POST",
					body: JSON.stringify({ ns: this.ns, call, args }),
				});
				break;
			} catch (e) {
				if (tries === 5)
					throw e;
				console.error(`${call} ${args[0]}: ${e.message} ` +
					`(${e.cause}), again`);
				await sleep(1000);
			}
		}
		if (res.headers.get("x-kv") === "bytes")
			return Buffer.from(await res.arrayBuffer());
		const r = await res.json();
		if (r.error !== undefined)
			throw new Error(r.error);
		return r.map ? new Map(r.ok) : r.ok;
	}

	put(key, spec, o) { return this.call("put", key, spec, o); }
	get(key, type) { return this.call("get", key, type); }
	getWithMetadata(key, type) {
		return this.call("getWithMetadata", key, type);
	}
	delete(key) { return this.call("delete", key); }
	list(o) { return this.call("list", o); }
}

export async function runMiniflare(ops, out, dir) {
	const require = createRequire(join(dir, "package.json"));
	const { Miniflare } = require("miniflare");
	const names = [...new Set(ops.filter((o) => o.ns).map((o) => o.ns))];
	const here = dirname(fileURLToPath(import.meta.url));
	const mf = new Miniflare({
		modules: true,
		script: readFileSync(join(here, "worker.mjs"), "utf8"),
		kvNamespaces: names,
	});
	await mf.ready;
	const results = [];
	const ran = {};
	for (const op of ops) {
		let r;
		try {
			r = await bindingOp(new Binding(mf, op.ns), op, ran);
		} catch (e) {
			r = { res: refused(bindingKind(String(e.message))) };
		}
		ran[op.id] = Date.now();
		results.push(JSON.stringify({ id: op.id, ...r }));
	}
	await mf.dispose();
	writeFileSync(out, results.join("\n") + "\n");
}

async function bindingOp(ns, op, ran) {
	const at = now();
	switch (op.op) {
	case "put": {
		const o = {};
		if (op.meta !== undefined)
			o.metadata = JSON.parse(expand(op.meta));
		if (op.exp)
			o.expiration = expiration(op);
		if (op.ttl !== undefined)
			o.expirationTtl = op.ttl;
		await ns.put(expand(op.key), op.value, o);
		return { res: "ok" };
	}
	case "get": {
		const type = op.type || "bytes";
		const v = await ns.get(expand(op.key),
			type === "bytes" ? "arrayBuffer" : type);
		if (v === null)
			return { res: "null" };
		if (type === "bytes")
			return { res: bytesRes(Buffer.from(v)) };
		return { res: type === "json" ? { json: canon(v) } : textRes(v) };
	}
	case "getmeta": {
		const v = await ns.getWithMetadata(expand(op.key), "text");
		if (v.value === null)
			return { res: "null" };
		return { res: { value: textRes(v.value),
				metadata: canon(v.metadata) } };
	}
	case "bulk":
	case "bulkmeta": {
		const keys = keyList(op.keys);
		const type = op.type || "text";
		const m = op.op === "bulk" ? await ns.get(keys, type) :
			await ns.getWithMetadata(keys, type);
		const res = [];
		for (const k of new Set(keys)) {
			const v = m.get(k);
			if (v === null || v === undefined)
				res.push([k, null]);
			else if (op.op === "bulk")
				res.push([k, type === "json" ? canon(v) : textRes(v)]);
			else
				res.push([k, { value: type === "json" ?
					canon(v.value) : textRes(v.value),
					metadata: canon(v.metadata) }]);
		}
		return { res: res };
	}
	case "delete":
		await ns.delete(expand(op.key));
		return { res: "ok" };
	case "list": {
		const o = {};
		if (op.prefix !== undefined)
			o.prefix = op.prefix;
		if (op.limit !== undefined)
			o.limit = op.limit;
		if (op.cursor === "bad")
			o.cursor = "bm90IGEgY3Vyc29y";
		const page = await ns.list(o);
		return { res: listRes(page, at), shape: listShape(page) };
	}
	case "pages": {
		const pages = [];
		let cursor;
		do {
			const o = { limit: op.limit, cursor };
			if (op.prefix !== undefined)
				o.prefix = op.prefix;
			const page = await ns.list(o);
			pages.push(page);
			cursor = page.list_complete ? undefined : page.cursor;
		} while (cursor !== undefined && pages.length < 3000);
		return { res: pagesRes(pages, at),
			 shape: listShape(pages[pages.length - 1]) };
	}
	case "putmany": {
		const keys = keyList(op.keys);
		for (let i = 0; i < keys.length; i += 20)
			await Promise.all(keys.slice(i, i + 20)
				.map((k) => ns.put(k, "v-" + k)));
		return { res: "ok" };
	}
	case "wait":
		await sleep(ran[op.wait.after] + op.wait.secs * 1000 - Date.now());
		return { res: "ok" };
	}
	throw new Error(`unknown op ${op.op}`);
}

// --- kvctl -------------------------------------------------------------------

// kvctl runs with glibc filling what malloc returns (MALLOC_PERTURB_),
// as the sanitizers' build does, so that a read of memory never written
// gives the same wrong answer on every run and build.
const kvctlEnv = { ...process.env, MALLOC_PERTURB_: "165" };

function kvctl(bin, args, input) {
	const r = spawnSync(bin, args, { input, env: kvctlEnv,
					  maxBuffer: 64 << 20 });
	if (r.error)
		throw r.error;
	return { status: r.status, out: r.stdout,
		 err: r.stderr.toString("utf8") };
}

// Options first, then the arguments, after "--" if one starts with "-"
// (kvctl's getopt would take it for an option).
function kvctlArgs(cmd, opts, args) {
	if (args.some((a) => a.startsWith("-")))
		return [cmd, ...opts, "--", ...args];
	return [cmd, ...opts, ...args];
}

// A refusal of a key that is none ("", "." or "..") is the binding's
// key-invalid, whatever kvctl's words for it.
function kvctlErr(r, keys = []) {
	const kind = kvctlKind(r.err);
	if (kind === "key-path" &&
	    keys.some((k) => ["", ".", ".."].includes(k)))
		return refused("key-invalid");
	return refused(kind);
}

export async function runKvctl(ops, out, bin, mount, scratch) {
	mkdirSync(scratch, { recursive: true });
	const names = [...new Set(ops.filter((o) => o.ns).map((o) => o.ns))];
	for (const n of names) {
		const r = kvctl(bin, ["namespace", "create", mount, n]);
		if (r.status !== 0 && !/exists/.test(r.err))
			throw new Error(`namespace create ${n}: ${r.err}`);
	}
	const results = [];
	const ran = {};
	for (const op of ops) {
		let r;
		try {
			r = await kvctlOp(bin, join(mount, op.ns || ""), scratch,
					  op, ran);
		} catch (e) {
			r = { res: refused("driver: " + e.message) };
		}
		ran[op.id] = Date.now();
		results.push(JSON.stringify({ id: op.id, ...r }));
	}
	writeFileSync(out, results.join("\n") + "\n");
}

// A key argv cannot carry (a NUL byte) is refused before kvctl runs.
function argvKey(key) {
	if (key.includes("\0"))
		throw new Error("a NUL byte cannot be a command-line argument");
	return key;
}

async function kvctlOp(bin, nsdir, scratch, op, ran) {
	const at = now();
	switch (op.op) {
	case "put": {
		const opts = [];
		const args = [nsdir, argvKey(expand(op.key))];
		if (op.meta !== undefined)
			opts.push("--metadata", expand(op.meta));
		if (op.exp)
			opts.push("--expiration", String(expiration(op)));
		if (op.ttl !== undefined)
			opts.push("--expiration-ttl", String(op.ttl));
		if (typeof op.value === "string" && !op.value.includes("\0") &&
		    op.value !== "-") {
			args.push(op.value);
		} else {
			const f = join(scratch, "value");
			writeFileSync(f, valueBytes(op.value));
			opts.push("--file", f);
		}
		const r = kvctl(bin, kvctlArgs("put", opts, args));
		return { res: r.status === 0 ? "ok" : kvctlErr(r, [args[1]]) };
	}
	case "get": {
		const type = op.type || "bytes";
		const r = kvctl(bin, kvctlArgs("get",
			["--type", type === "bytes" ? "binary" : type],
			[nsdir, argvKey(expand(op.key))]));
		if (r.status !== 0)
			return { res: /no such key/.test(r.err) ? "null" :
				 kvctlErr(r, [expand(op.key)]) };
		if (type === "json")
			return { res: { json: canon(JSON.parse(r.out)) } };
		return { res: bytesRes(r.out) };
	}
	case "getmeta": {
		const r = kvctl(bin, kvctlArgs("get", ["--with-metadata"],
			[nsdir, argvKey(expand(op.key))]));
		if (r.status !== 0)
			return { res: /no such key/.test(r.err) ? "null" :
				 kvctlErr(r, [expand(op.key)]) };
		const v = JSON.parse(r.out);
		return { res: { value: textRes(v.value),
				metadata: canon(v.metadata) } };
	}
	case "bulk":
	case "bulkmeta": {
		const keys = keyList(op.keys).map(argvKey);
		const opts = [];
		if (op.type)
			opts.push("--type", op.type);
		if (op.op === "bulkmeta")
			opts.push("--with-metadata");
		const r = kvctl(bin, kvctlArgs("get", opts, [nsdir, ...keys]));
		if (r.status !== 0)
			return { res: kvctlErr(r, keys) };
		const m = JSON.parse(r.out);
		const res = [];
		for (const k of new Set(keys)) {
			const v = m[k];
			if (v === null || v === undefined)
				res.push([k, null]);
			else if (op.op === "bulk")
				res.push([k, op.type === "json" ? canon(v) :
					typeof v === "string" ? textRes(v) :
					canon(v)]);
			else
				res.push([k, { value: typeof v.value === "string" ?
					textRes(v.value) : canon(v.value),
					metadata: canon(v.metadata) }]);
		}
		return { res: res };
	}
	case "delete": {
		const r = kvctl(bin, kvctlArgs("delete", [],
			[nsdir, argvKey(expand(op.key))]));
		return { res: r.status === 0 ? "ok" :
			 kvctlErr(r, [expand(op.key)]) };
	}
	case "list": {
		const opts = [];
		if (op.prefix !== undefined)
			opts.push("--prefix", op.prefix);
		if (op.limit !== undefined)
			opts.push("--limit", String(op.limit));
		if (op.cursor === "bad")
			opts.push("--cursor", "bm90IGEgY3Vyc29y");
		const r = kvctl(bin, kvctlArgs("list", opts, [nsdir]));
		if (r.status !== 0)
			return { res: kvctlErr(r) };
		const page = JSON.parse(r.out);
		return { res: listRes(page, at), shape: listShape(page) };
	}
	case "pages": {
		const pages = [];
		let cursor;
		do {
			const opts = ["--limit", String(op.limit)];
			if (op.prefix !== undefined)
				opts.push("--prefix", op.prefix);
			if (cursor !== undefined)
				opts.push("--cursor", cursor);
			const r = kvctl(bin, kvctlArgs("list", opts, [nsdir]));
			if (r.status !== 0)
				return { res: kvctlErr(r) };
			const page = JSON.parse(r.out);
			pages.push(page);
			cursor = page.list_complete ? undefined : page.cursor;
		} while (cursor !== undefined && pages.length < 3000);
		return { res: pagesRes(pages, at),
			 shape: listShape(pages[pages.length - 1]) };
	}
	case "putmany": {
		/* setup, as one import: what is compared is what lists show */
		const f = join(scratch, "import.json");
		writeFileSync(f, JSON.stringify(keyList(op.keys)
			.map((k) => ({ key: k, value: "v-" + k }))));
		const r = kvctl(bin, ["import", nsdir, f]);
		return { res: r.status === 0 ? "ok" : kvctlErr(r) };
	}
	case "wait":
		await sleep(ran[op.wait.after] + op.wait.secs * 1000 - Date.now());
		return { res: "ok" };
	}
	throw new Error(`unknown op ${op.op}`);
}
