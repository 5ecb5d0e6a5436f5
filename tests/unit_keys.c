/*
 * unit_keys.c - the name and key rules and the option parsers, without a
 * mount.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "common/names.h"
#include "common/xattr.h"
#include "common/options.h"
#include "tap.h"

#define NS(s)	kvfs_check_ns_name(s, strlen(s))
#define KEY(s)	kvfs_check_key(s, sizeof(s) - 1, 512)

#define S(lit) (lit), (sizeof(lit) - 1)

/* The xattr names and values of SPEC section 4. */
static void test_xattr_values(void)
{
	int64_t v = -1;
	char buf[24];

	is_int(kvx_classify("user.kv.metadata"), KVX_NAME_METADATA, "metadata");
	is_int(kvx_classify("user.kv.expiration"), KVX_NAME_EXPIRATION,
	       "expiration");
	is_int(kvx_classify("user.kv.expiration_ttl"), KVX_NAME_TTL, "ttl");
	is_int(kvx_classify("user.kv.metadatax"), KVX_NONE, "a longer name");
	is_int(kvx_classify("user.kv"), KVX_NONE, "a shorter name");
	is_int(kvx_classify("trusted.kv.metadata"), KVX_NONE, "trusted.*");

	is_int(kvx_check_metadata(S("{}"), 1024), 0, "{}");
	is_int(kvx_check_metadata(S("\"s\""), 1024), 0, "a string");
	is_int(kvx_check_metadata(S("-1.5e-3"), 1024), 0, "a number");
	is_int(kvx_check_metadata(S("[\"\\u0000\"]"), 1024), 0,
	       "an escaped NUL");
	is_int(kvx_check_metadata(S(" {} \n"), 1024), 0, "white space around");
	is_int(kvx_check_metadata(S(""), 1024), -EINVAL, "empty");
	is_int(kvx_check_metadata(S("{} {}"), 1024), -EINVAL, "two values");
	is_int(kvx_check_metadata("{\"a\":\"\0\"}", 8, 1024), -EINVAL,
	       "a raw NUL");
	is_int(kvx_check_metadata(S("[\"\xc0\xaf\"]"), 1024), -EINVAL,
	       "overlong UTF-8");
	/* RFC 8259 sets no range on numbers */
	{
		static const char *const good[] = {
			"{\"n\":10000000000000000000}", "1e400", "-1e400",
			"-0", "1.5e308", "1E+999", "0.0000000001e-400",
			"[9223372036854775808,-9223372036854775809]",
			"{\"a\":[1e400,{\"b\":\"1e400 \\\" 01\"}]}",
		};
		static const char *const bad[] = {
			"01", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "1-2",
			"0x1", "NaN", "Infinity", "-Infinity", "[1,]", "1 2",
			"[1e400 1]", "\"a\" 1e400", "{\"n\":1e400",
		};
		size_t i;

		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			is_int(kvx_check_metadata(good[i], strlen(good[i]),
						  1024), 0, "%s", good[i]);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			is_int(kvx_check_metadata(bad[i], strlen(bad[i]),
						  1024), -EINVAL, "%s",
			       bad[i]);
	}
	is_int(kvx_check_metadata(S("[1,2,3]"), 7), 0, "at max");
	is_int(kvx_check_metadata(S("[1,2,3]"), 6), -ERANGE, "one past max");

	is_int(kvx_parse_seconds(S("0"), &v), 0, "0");
	is_int(kvx_parse_seconds(S("9223372036854775807"), &v), 0, "INT64_MAX");
	is_int(v, INT64_MAX, "read whole");
	is_int(kvx_parse_seconds(S("9223372036854775808"), &v), -EINVAL,
	       "one past INT64_MAX");
	is_int(kvx_parse_seconds(S("-1"), &v), -EINVAL, "negative");
	is_int(kvx_parse_seconds(S("+1"), &v), -EINVAL, "a sign");
	is_int(kvx_parse_seconds(S("1 "), &v), -EINVAL, "a space");
	is_int(kvx_parse_seconds("12\0" "3", 4, &v), -EINVAL, "a NUL inside");
	is_int(kvx_parse_seconds(S(""), &v), -EINVAL, "empty");

	is_int(kvx_expiration(KVX_NAME_TTL, S("60"), 1000, 60, &v), 0,
	       "ttl at the minimum");
	is_int(v, 1060, "from now");
	is_int(kvx_expiration(KVX_NAME_TTL, S("59"), 1000, 60, &v), -EINVAL,
	       "ttl one short");
	is_int(kvx_expiration(KVX_NAME_EXPIRATION, S("1060"), 1000, 60, &v),
	       0, "expiration at the minimum");
	is_int(kvx_expiration(KVX_NAME_EXPIRATION, S("1059"), 1000, 60, &v),
	       -EINVAL, "expiration one short");
	is_int(kvx_expiration(KVX_NAME_TTL, S("9223372036854775807"), 1000, 60,
			      &v), -EINVAL, "a ttl past the end of time");
	is_int(kvx_expiration(KVX_NAME_METADATA, S("100"), 0, 0, &v), -EINVAL,
	       "not an expiration attribute");

	is_int(kvx_format(KVX_NAME_EXPIRATION, 1700000000, 5, buf), 10,
	       "expiration formatted");
	ok(!memcmp(buf, "1700000000", 10), "as decimal");
	is_int(kvx_format(KVX_NAME_TTL, 1060, 1000, buf), 2, "ttl formatted");
	ok(!memcmp(buf, "60", 2), "as seconds left");
}

/* A temporary key's name: 0xFF, then a segment; never a key. */
static void test_temp_names(void)
{
	ok(kvfs_is_temp_name(S("\xffkvctl-put.12.0")), "0xFF and a segment");
	ok(kvfs_is_temp_name(S("\xff\xc3\xa9")), "0xFF and UTF-8");
	ok(!kvfs_is_temp_name(S("\xff")), "0xFF alone");
	ok(!kvfs_is_temp_name(S(".kvctl-put.12.0")), "a key's name");
	ok(!kvfs_is_temp_name(S("x\xffy")), "0xFF not first");
	ok(!kvfs_is_temp_name(S("\xff\xff")), "two 0xFF");
	ok(!kvfs_is_temp_name(S("\xff" "a/b")), "a '/'");
	ok(!kvfs_is_temp_name(S("\xfe.x")), "0xFE");
	{
		char name[257];

		memset(name, 'n', sizeof(name));
		name[0] = '\xff';
		ok(kvfs_is_temp_name(name, 255), "255 bytes");
		ok(!kvfs_is_temp_name(name, 256), "256 bytes");
	}
	is_int(KEY("\xffkvctl-put.12.0"), -EILSEQ, "and none is a key");
}

int main(void)
{
	struct kvfs_opts o;
	char why[128], big[600];
	uint64_t v;
	bool b;

	/* namespace names: 3-63 of [A-Za-z0-9_-] */
	is_int(NS("abc"), 0, "3-character namespace accepted");
	is_int(NS("ab"), -EINVAL, "2-character namespace refused");
	memset(big, 'a', 63);
	big[63] = '\0';
	is_int(NS(big), 0, "63-character namespace accepted");
	big[63] = 'a';
	big[64] = '\0';
	is_int(NS(big), -EINVAL, "64-character namespace refused");
	is_int(NS("Az0_-9"), 0, "all allowed classes accepted");
	is_int(NS("a.b"), -EINVAL, "dot refused");
	is_int(NS("a b"), -EINVAL, "space refused");
	is_int(NS("caf\xc3\xa9"), -EINVAL, "non-ASCII refused");

	/* UTF-8 */
	is_int(KEY("users/123/profile"), 0, "path key accepted");
	is_int(KEY("\xe6\x88\x91\xe7\x9a\x84"), 0, "CJK key accepted");
	is_int(KEY("\xf0\x9f\x8c\x8d"), 0, "4-byte emoji accepted");
	is_int(KEY("a\xff"), -EILSEQ, "0xff refused");
	is_int(KEY("\xc0\xaf"), -EILSEQ, "overlong '/' refused");
	is_int(KEY("\xe0\x80\xaf"), -EILSEQ, "3-byte overlong refused");
	is_int(KEY("\xed\xa0\x80"), -EILSEQ, "surrogate refused");
	is_int(KEY("\xf4\x90\x80\x80"), -EILSEQ, "past U+10FFFF refused");
	is_int(KEY("\xe6\x88"), -EILSEQ, "truncated sequence refused");
	is_int(KEY("\x80"), -EILSEQ, "lone continuation refused");
	is_int(KEY("a//b"), -EINVAL, "empty segment refused");
	is_int(KEY("a/./b"), -EINVAL, "'.' segment refused");
	is_int(KEY("a/../b"), -EINVAL, "'..' segment refused");
	is_int(KEY("/a"), -EINVAL, "leading '/' refused");
	is_int(KEY("a/"), -EINVAL, "trailing '/' refused");

	/* length: bytes, not characters */
	memset(big, 'k', 512);
	is_int(kvfs_check_key(big, 512, 512), 0, "512-byte key accepted");
	is_int(kvfs_check_key(big, 513, 512), -ENAMETOOLONG,
	       "513-byte key refused");
	memcpy(big + 510, "\xc3\xa9", 2);
	is_int(kvfs_check_key(big, 512, 512), 0,
	       "512 bytes ending in a 2-byte character accepted");

	/* sizes */
	is_int(kvfs_parse_size("25M", &v), 0, "25M parses");
	is_int(v, 26214400, "25M is 26,214,400 bytes");
	is_int(kvfs_parse_size("1k", &v), 0, "lowercase suffix parses");
	is_int(v, 1024, "1k is 1024");
	is_int(kvfs_parse_size("2G", &v), 0, "2G parses");
	is_int(v, 2147483648ll, "2G is 2^31");
	is_int(kvfs_parse_size("", &v), -EINVAL, "empty size refused");
	is_int(kvfs_parse_size("M", &v), -EINVAL, "suffix alone refused");
	is_int(kvfs_parse_size("-1", &v), -EINVAL, "negative size refused");
	is_int(kvfs_parse_size("1.5M", &v), -EINVAL, "fraction refused");
	is_int(kvfs_parse_size("1T", &v), 0, "1T parses");
	is_int(v, 1099511627776ll, "1T is 2^40");
	is_int(kvfs_parse_size("10P", &v), -EINVAL, "unknown suffix refused");
	is_int(kvfs_parse_size("16777216T", &v), -ERANGE,
	       "T overflow caught");
	is_int(kvfs_parse_size("18446744073709551616", &v), -ERANGE,
	       "2^64 overflows");
	is_int(kvfs_parse_size("17179869184G", &v), -ERANGE,
	       "suffix overflow caught");
	is_int(kvfs_parse_bool("on", &b), 0, "on parses");
	is_int(kvfs_parse_bool("maybe", &b), -EINVAL, "maybe refused");

	/* the option table */
	kvfs_opts_defaults(&o);
	is_int(o.max_value_size, 26214400, "default max_value_size 25M");
	is_int(o.max_key_size, 512, "default max_key_size 512");
	is_int(kvfs_opts_set(&o, "max_value_size", "1G", why, sizeof(why)), 0,
	       "max_value_size=1G accepted");
	is_int(o.max_value_size, 1073741824, "max_value_size set");
	is_int(kvfs_opts_set(&o, "max_key_size", "0", why, sizeof(why)),
	       -EINVAL, "max_key_size=0 refused");
	is_int(kvfs_opts_set(&o, "max_namespaces", "1k", why, sizeof(why)),
	       -EINVAL, "count with a suffix refused");
	is_int(kvfs_opts_set(&o, "default_namespace", "x", why, sizeof(why)),
	       -EINVAL, "bad default_namespace refused");
	is_int(kvfs_opts_set(&o, "nonsense", "1", why, sizeof(why)), -ENOENT,
	       "unknown option reported");
	test_xattr_values();
	test_temp_names();
	return tap_done();
}
