// kvdiff.mjs - the differential test: its command line and its comparison.
// Each driver (drivers.mjs) runs the operations of tests/kvdiff/ops, in
// order, and writes one normalised JSON result a line; compare reads
// both, with the file of accepted differences, and says per group what
// agrees.
//
//   node kvdiff.mjs miniflare OPS OUT MINIFLARE_DIR
//   node kvdiff.mjs kvctl OPS OUT KVCTL MOUNT SCRATCH
//   node kvdiff.mjs compare OPS WANT GOT ACCEPTED
//
// The binding is Miniflare's Workers KV, called by a Worker running in
// workerd (worker.mjs), one request an operation; kvctl runs against a
// kvfs mount.  A
// result is {"id", "res", "shape"}: res is what the operation answered
// (value bytes as hex, or their length and sha256 past 64 bytes;
// metadata as JSON.stringify of it; "null" for a missing key; "refused"
// with the kind of error), shape what only the form of a list shows
// (metadata null or absent, cursor absent or empty), compared apart so
// that a difference of form does not hide one of content.  Node 18 runs
// it (Debian 12's).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import { readOps, runKvctl, runMiniflare } from "./drivers.mjs";

// --- comparison ----------------------------------------------------------

function readResults(path) {
	const m = new Map();
	for (const line of readFileSync(path, "utf8").split("\n"))
		if (line)
			m.set(JSON.parse(line).id, JSON.parse(line));
	return m;
}

// The end of the JSON value at the start of s: strings and nesting
// followed, a bare word ending at white space.
function jsonEnd(s) {
	let depth = 0;
	let str = false;
	for (let i = 0; i < s.length; i++) {
		const c = s[i];
		if (str) {
			if (c === "\\") {
				i++;
			} else if (c === '"') {
				str = false;
				if (depth === 0)
					return i + 1;
			}
			continue;
		}
		if (c === '"')
			str = true;
		else if (c === "{" || c === "[")
			depth++;
		else if ((c === "}" || c === "]") && --depth === 0)
			return i + 1;
		else if (depth === 0 && /\s/.test(c))
			return i;
	}
	return s.length;
}

const sha256 = (s) => createHash("sha256").update(s).digest("hex");

// accepted: "ID[:shape] RESULT REASON" a line, '#' lines aside; "*" in ID
// stands for any characters.  RESULT is kvctl's result (res, or shape
// for ":shape") as the kvctl driver writes it, JSON, or "sha256:HEX" of
// that JSON when it is long: the difference is accepted only while kvctl
// answers exactly that.  REASON is the README section that says why.
function readAccepted(path) {
	const list = [];
	readFileSync(path, "utf8").split("\n").forEach((line, i) => {
		if (!line.trim() || line.startsWith("#"))
			return;
		const where = `${path}:${i + 1}`;
		const [, id, rest] = line.match(/^(\S+)\s*(.*)$/);
		const end = jsonEnd(rest);
		const text = rest.slice(0, end);
		const why = rest.slice(end).trim();
		let result;
		if (/^sha256:[0-9a-f]{64}$/.test(text)) {
			result = text;
		} else {
			try {
				result = JSON.stringify(JSON.parse(text));
			} catch (e) {
				throw new Error(`${where}: kvctl's result is ` +
					`not JSON: ${e.message}`);
			}
		}
		if (!why)
			throw new Error(`${where}: no reason (the README ` +
				"section that says why)");
		const re = new RegExp("^" + id.split("*").map((p) =>
			p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
		list.push({ id, re, result, why, line: i + 1, matched: 0,
			    differ: 0 });
	});
	return list;
}

// Is kvctl's result r what the accepted line records?
function asRecorded(acc, r) {
	const j = JSON.stringify(r);
	if (j === undefined)
		return false;
	return acc.result.startsWith("sha256:") ?
		acc.result === `sha256:${sha256(j)}` : acc.result === j;
}

// kvctl's result as an accepted line records it.
function record(r) {
	const j = JSON.stringify(r);
	if (j === undefined)
		return "(none)";
	return j.length > 240 ? `sha256:${sha256(j)}` : j;
}

const show = (v) => {
	const s = JSON.stringify(v);
	return s === undefined ? "(none)" :
		s.length > 400 ? s.slice(0, 400) + "..." : s;
};

// Prints "ok GROUP DESC" or "not ok GROUP DESC" a group, and "# ..."
// lines that explain; tests/37-kvdiff.sh makes TAP of them.
function compare(opsPath, wantPath, gotPath, acceptedPath) {
	const ops = readOps(opsPath);
	const want = readResults(wantPath);
	const got = readResults(gotPath);
	const accepted = readAccepted(acceptedPath);
	const groups = new Map();
	const ids = new Set();
	let differ = 0;
	for (const op of ops) {
		if (ids.has(op.id))
			throw new Error(`${op.id}: two operations have this id`);
		ids.add(op.id);
		const g = op.id.split(".")[0];
		if (!groups.has(g))
			groups.set(g, { n: 0, acc: 0, bad: [] });
		const grp = groups.get(g);
		grp.n++;
		const w = want.get(op.id);
		const h = got.get(op.id);
		for (const facet of ["res", "shape"]) {
			const id = facet === "res" ? op.id : `${op.id}:shape`;
			const a = w && w[facet];
			const b = h && h[facet];
			/* a refusal has no form to compare */
			if (facet === "shape" && (a === undefined || b === undefined))
				continue;
			const same = w && h && JSON.stringify(a) === JSON.stringify(b);
			const acc = accepted.find((x) => x.re.test(id));
			if (acc)
				acc.matched++;
			if (same)
				continue;
			differ++;
			if (acc && asRecorded(acc, b)) {
				acc.differ++;
				grp.acc++;
				console.log(`# accepted ${id} (${acc.why})`);
				console.log(`#   binding: ${show(a)}`);
				console.log(`#   kvctl:   ${show(b)}`);
			} else if (acc) {
				/* only the recorded difference is excused */
				acc.differ++;
				grp.bad.push(`${id}: differs, and kvctl's result ` +
					`is not the one accepted:${acc.line} ` +
					`records\n#   binding:  ${show(a)}\n` +
					`#   kvctl:    ${show(b)}\n` +
					`#   accepted: ${acc.result.length > 400 ?
						acc.result.slice(0, 400) + "..." :
						acc.result}\n` +
					`#   as a line of tests/kvdiff/accepted: ` +
					`${id} ${record(b)} ${acc.why}`);
			} else {
				grp.bad.push(`${id}: differs\n#   binding: ` +
					`${show(a)}\n#   kvctl:   ${show(b)}\n` +
					`#   if it is to stay, as a line of ` +
					`tests/kvdiff/accepted: ${id} ${record(b)} ` +
					`README "SECTION"`);
			}
		}
	}
	/* an accepted difference that is gone, or names nothing, fails */
	for (const acc of accepted) {
		if (acc.differ)
			continue;
		const g = groups.get(acc.id.split(".")[0]) ||
			groups.values().next().value;
		g.bad.push(`${acc.id}: accepted (accepted:${acc.line}, ` +
			`${acc.why}) but ` + (acc.matched ? "no longer differs" :
			"no operation has this id") +
			": remove it from tests/kvdiff/accepted");
	}
	for (const [g, grp] of groups) {
		const desc = `${g}: ${grp.n} operations, ` +
			`${grp.acc} accepted differences`;
		if (grp.bad.length) {
			console.log(`not ok ${desc}`);
			for (const b of grp.bad)
				console.log(`# ${b}`);
		} else {
			console.log(`ok ${desc}`);
		}
	}
	console.log(`# ${ops.length} operations, ${differ} results differ`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "miniflare")
	await runMiniflare(readOps(args[0]), args[1], args[2]);
else if (mode === "kvctl")
	await runKvctl(readOps(args[0]), args[1], args[2], args[3], args[4]);
else if (mode === "compare")
	compare(...args);
else {
	console.error("usage: kvdiff.mjs miniflare|kvctl|compare ...");
	process.exit(2);
}
