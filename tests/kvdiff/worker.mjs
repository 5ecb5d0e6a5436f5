// worker.mjs - the Worker kvdiff.mjs runs in Miniflare: each request is
// one call of a KV binding ({ns, call, args}, JSON), made here, inside
// workerd, as a Worker makes it.  Values are made here from their spec,
// so that no large body crosses to the Worker; the answer is JSON
// ({ok} or {error}), or the value's bytes for get(key, "arrayBuffer").
function value(spec) {
	if (typeof spec === "string")
		return spec;
	if (spec.hex !== undefined)
		return Uint8Array.from(spec.hex.match(/../g) || [],
			(h) => parseInt(h, 16)).buffer;
	if (spec.all)
		return new Uint8Array(256).map((_, i) => i).buffer;
	return new Uint8Array(spec.n).fill(spec.fill.charCodeAt(0)).buffer;
}

const json = (v) => new Response(JSON.stringify(v),
	{ headers: { "content-type": "application/json" } });

export default {
	async fetch(request, env) {
		const { ns, call, args } = await request.json();
		const kv = env[ns];
		try {
			if (call === "put")
				args[1] = value(args[1]);
			const r = await kv[call](...args);
			if (r instanceof ArrayBuffer)
				return new Response(r, { headers: { "x-kv": "bytes" } });
			if (r instanceof Map)
				return json({ ok: [...r], map: true });
			return json({ ok: r === undefined ? null : r });
		} catch (e) {
			return json({ error: String(e && e.message), name: e && e.name });
		}
	},
};
