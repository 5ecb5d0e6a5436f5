/*
 * util.c - messages, JSON output, files, base64 and the reading of
 * a key's attributes, for the kvctl commands.
 *
 * A symbolic link in a mount is a key whose value is its target (the API
 * has no links): it is read with readlink, its attributes without
 * following it, and a key path through one names no key.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/names.h"
#include "kvctl/kvctl.h"
#include "common/xattr.h"
#include "common/options.h"

static void say(const char *fmt, va_list ap)
{
	fputs("kvctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int kc_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return 1;
}

int kc_bad_arg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return KC_USAGE;
}

int kc_usage(const char *usage)
{
	fprintf(stderr, "usage: kvctl %s\n(see kvctl --help)\n", usage);
	return KC_USAGE;
}

/*
 * Metadata stands in a JSON tree as a string, for it to be written as
 * stored: jansson cannot hold every number (RFC 8259 sets no range) and
 * writes others its own way (0.1 as 0.10000000000000001, 1E2 as 100.0,
 * -0 as 0), and a string's escapes too (\u00e9 as the letter).  The string is
 * a mark that no text holds by chance (a random nonce), then the text
 * itself, compact.  kc_dumps puts the text where such a string is, laid
 * out as the rest of the output.  Each stand-in carries its own text:
 * there is no list of them to keep or free, only a flag saying that one
 * was made, so that kc_print looks for them only then.
 */
static unsigned long long nonce;
static bool stand_ins;

/* The mark as the string holds it (in) or as json_dumps writes it (out:
 * the opening quote, \u0001 escaped). */
static void mark(char *in, char *out, size_t size)
{
	if (!nonce && (getrandom(&nonce, sizeof(nonce), 0) !=
		       (ssize_t)sizeof(nonce) || !nonce))
		nonce = (unsigned long long)getpid() << 32 ^
			(unsigned long long)time(NULL);
	if (in)
		snprintf(in, size, "\1kvctl-raw-%016llx:", nonce);
	if (out)
		snprintf(out, size, "\"\\u0001kvctl-raw-%016llx:", nonce);
}

char *kc_json_compact(const char *text, size_t len)
{
	char *out = kc_alloc(len + 1), *o = out;
	bool in_string = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = text[i];

		if (in_string) {
			*o++ = c;
			if (c == '\\' && i + 1 < len)
				*o++ = text[++i];
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
			*o++ = c;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			*o++ = c;
		}
	}
	*o = '\0';
	return out;
}

json_t *kc_raw_json(const char *text, size_t len)
{
	char m[64], *compact = kc_json_compact(text, len), *s;
	size_t mlen, clen = strlen(compact);
	json_t *j;

	mark(m, NULL, sizeof(m));
	mlen = strlen(m);
	s = kc_alloc(mlen + clen);
	memcpy(s, m, mlen);
	memcpy(s + mlen, compact, clen);
	j = json_stringn(s, mlen + clen);
	free(s);
	free(compact);
	stand_ins = true;
	return j;
}

/* The end of the JSON string token at s (past its closing quote). */
static const char *string_end(const char *s)
{
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && s[1])
			s++;
	return *s ? s + 1 : s;
}

void kc_text_add(struct kc_text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->buf = kc_realloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* What json_dumps writes before an item: a newline and spaces when it
 * indents, a space after a comma when it is neither indented nor compact. */
static void add_break(struct kc_text *t, size_t flags, size_t spaces,
		      bool after_comma)
{
	size_t i;

	if (flags & JSON_MAX_INDENT) {
		kc_text_add(t, "\n", 1);
		for (i = 0; i < spaces; i++)
			kc_text_add(t, " ", 1);
	} else if (after_comma && !(flags & JSON_COMPACT)) {
		kc_text_add(t, " ", 1);
	}
}

/*
 * The compact JSON text s laid out as json_dumps lays out a value with
 * these flags, on a line indented by base spaces: only the white space
 * between tokens is added, the tokens (numbers, strings with their
 * escapes) are written as they are.
 */
static void add_laid_out(struct kc_text *t, const char *s, size_t flags,
			 size_t base)
{
	size_t step = flags & JSON_MAX_INDENT, depth = 0;

	for (; *s; s++) {
		if (*s == '"') {
			const char *end = string_end(s);

			kc_text_add(t, s, (size_t)(end - s));
			s = end - 1;
		} else if ((*s == '{' && s[1] == '}') ||
			   (*s == '[' && s[1] == ']')) {
			kc_text_add(t, s++, 2);	/* empty: {} and [] */
		} else if (*s == '{' || *s == '[') {
			kc_text_add(t, s, 1);
			add_break(t, flags, base + ++depth * step, false);
		} else if (*s == '}' || *s == ']') {
			add_break(t, flags, base + --depth * step, false);
			kc_text_add(t, s, 1);
		} else if (*s == ',') {
			kc_text_add(t, s, 1);
			add_break(t, flags, base + depth * step, true);
		} else if (*s == ':') {
			kc_text_add(t, ": ", flags & JSON_COMPACT ? 1 : 2);
		} else {
			kc_text_add(t, s, 1);
		}
	}
}

/* The spaces that start the last line of t. */
static size_t line_indent(const struct kc_text *t)
{
	const char *nl = memrchr(t->buf, '\n', t->len);
	const char *p = nl ? nl + 1 : t->buf;
	size_t n = 0;

	while (p[n] == ' ')
		n++;
	return n;
}

char *kc_dumps(json_t *j, size_t flags)
{
	char *out = json_dumps(j, flags), m[64], needle[64];
	const char *from, *at;
	struct kc_text t = { NULL, 0, 0 };
	size_t mlen;

	if (!out || !stand_ins)
		return out;
	mark(m, needle, sizeof(m));
	mlen = strlen(m);
	kc_text_add(&t, "", 0);
	for (from = out; (at = strstr(from, needle)); from = string_end(at)) {
		const char *end = string_end(at);
		json_t *s = json_loadb(at, (size_t)(end - at),
				       JSON_DECODE_ANY, NULL);
		const char *text = json_string_value(s);
		size_t len = json_string_length(s);

		kc_text_add(&t, from, (size_t)(at - from));
		if (text && len >= mlen && !memcmp(text, m, mlen))
			add_laid_out(&t, text + mlen, flags, line_indent(&t));
		else	/* no stand-in after all: as it is */
			kc_text_add(&t, at, (size_t)(end - at));
		json_decref(s);
	}
	kc_text_add(&t, from, strlen(from));
	free(out);
	return t.buf;
}

int kc_print(json_t *j, bool pretty)
{
	size_t flags = JSON_ENCODE_ANY | (pretty ? JSON_INDENT(2)
						 : JSON_COMPACT);
	char *text;
	int rc;

	if (!j)
		return kc_error("out of memory");
	if (stand_ins) {
		text = kc_dumps(j, flags);
		rc = !text || fputs(text, stdout) == EOF;
		free(text);
	} else {
		rc = json_dumpf(j, stdout, flags);
	}
	json_decref(j);
	if (rc || fputc('\n', stdout) == EOF || fflush(stdout))
		return kc_error("cannot write the output: %s", strerror(errno));
	return 0;
}

void *kc_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		kc_error("out of memory");
		exit(1);
	}
	return p;
}

void *kc_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		kc_error("out of memory");
		exit(1);
	}
	return p;
}

char *kc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(kc_alloc(n), s, n);
}

char *kc_path(const char *dir, const char *key, size_t keylen)
{
	size_t dlen = strlen(dir);
	char *p = kc_alloc(dlen + 1 + keylen + 1);

	memcpy(p, dir, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, key, keylen);
	p[dlen + 1 + keylen] = '\0';
	return p;
}

int kc_read_fd(int fd, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = kc_alloc(cap + 1);

	for (;;) {
		ssize_t r;

		if (n == cap) {
			cap *= 2;
			b = kc_realloc(b, cap + 1);
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(b);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int kc_read_path(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = kc_read_fd(fd, buf, len);
	close(fd);
	return rc;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kc_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = kc_alloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[p[i] >> 2];
		*o++ = b64[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = b64[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*o++ = b64[p[i + 2] & 63];
	}
	if (i < len) {
		*o++ = b64[p[i] >> 2];
		if (i + 1 < len) {
			*o++ = b64[(p[i] & 3) << 4 | p[i + 1] >> 4];
			*o++ = b64[(p[i + 1] & 15) << 2];
		} else {
			*o++ = b64[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int kc_base64_decode(const char *text, size_t len, char **out,
		     size_t *outlen)
{
	unsigned char *o;
	size_t i, n = 0, pad = 0;

	if (len % 4)
		return -EINVAL;
	if (len && text[len - 1] == '=')
		pad = len > 1 && text[len - 2] == '=' ? 2 : 1;
	o = kc_alloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		int v[4], k;

		for (k = 0; k < 4; k++) {
			bool padding = i + 4 == len && k >= 4 - (int)pad;

			v[k] = padding ? 0 : b64_value(text[i + k]);
			if (v[k] < 0) {
				free(o);
				return -EINVAL;
			}
		}
		o[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		o[n++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		o[n++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	*outlen = n - pad;
	o[*outlen] = '\0';
	*out = (char *)o;
	return 0;
}

bool kc_is_text(const char *data, size_t len)
{
	json_t *s = json_stringn(data, len);

	json_decref(s);
	return s != NULL;
}

int kc_meta(const char *path, json_t **out)
{
	char buf[65536], *compact;
	ssize_t n = lgetxattr(path, KVX_METADATA, buf, sizeof(buf));

	*out = NULL;
	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	if (kvx_check_metadata(buf, (size_t)n, (size_t)n))
		return -EINVAL;
	compact = kc_json_compact(buf, (size_t)n);
	/* null is no metadata, as the binding has it (list leaves it out) */
	if (!strcmp(compact, "null"))
		*out = json_null();
	else
		*out = kc_raw_json(compact, strlen(compact));
	free(compact);
	return *out ? 0 : -ENOMEM;
}

int kc_expiration(const char *path, int64_t *out)
{
	char buf[32];
	ssize_t n = lgetxattr(path, KVX_EXPIRATION, buf, sizeof(buf) - 1);

	*out = 0;
	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	return kvx_parse_seconds(buf, (size_t)n, out);
}

int kc_check_parents(const char *nsdir, const char *key)
{
	const char *slash;

	for (slash = strchr(key, '/'); slash; slash = strchr(slash + 1, '/')) {
		char *dir = kc_path(nsdir, key, (size_t)(slash - key));
		struct stat sb;
		int rc = lstat(dir, &sb) < 0 ? -errno : 0;

		free(dir);
		if (rc == -ENOENT)
			return 0;	/* nor anything further */
		if (rc == 0 && S_ISLNK(sb.st_mode))
			rc = -ENOTDIR;
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The value of a symbolic link: its target.  A link replaced by something
 * else since the lstat: -ENOENT, to read again.
 */
static int read_link(const char *path, char **data, size_t *len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf));

	if (n < 0)
		return errno == EINVAL ? -ENOENT : -errno;
	*data = kc_alloc((size_t)n + 1);
	memcpy(*data, buf, (size_t)n);
	(*data)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static int read_once(const char *path, char **data, size_t *len,
		     json_t **meta, int64_t *exp, bool *moved)
{
	struct stat before, opened, after;
	int fd, rc;

	if (lstat(path, &before) < 0)
		return -errno;
	if (S_ISLNK(before.st_mode)) {
		rc = read_link(path, data, len);
		opened = before;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			rc = errno == ELOOP ? -ENOENT : -errno;
		else {
			rc = fstat(fd, &opened) < 0 ? -errno
			     : kc_read_fd(fd, data, len);
			close(fd);
		}
	}
	if (rc == -ENOENT) {
		*moved = true;	/* gone or replaced since the lstat */
		return 0;
	}
	if (rc)
		return rc;
	if (!rc && meta)
		rc = kc_meta(path, meta);
	if (!rc && exp)
		rc = kc_expiration(path, exp);
	if (!rc && lstat(path, &after) < 0)
		rc = -errno;
	/* the attributes of a key replaced meanwhile: ENOENT, read again */
	*moved = rc == -ENOENT || (!rc && (before.st_ino != opened.st_ino ||
					   after.st_ino != opened.st_ino));
	if (*moved)
		rc = 0;
	if (rc || *moved) {
		free(*data);
		*data = NULL;
		if (meta) {
			json_decref(*meta);
			*meta = NULL;
		}
	}
	return rc;
}

int kc_read_key(const char *path, char **data, size_t *len, json_t **meta,
		int64_t *exp)
{
	bool moved = true;
	int tries, rc = -EAGAIN;

	for (tries = 0; moved && tries < 1000; tries++) {
		rc = read_once(path, data, len, meta, exp, &moved);
		if (rc)
			return rc;
	}
	return moved ? -EAGAIN : 0;
}

json_t *kc_iso8601(time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

int kc_check_key(const char *key, size_t len, const char **why)
{
	int rc;

	if (len == 0) {
		*why = "the key is empty";
		return -EINVAL;
	}
	rc = kvfs_check_key(key, len, KVFS_KEY_SIZE_CEIL);
	if (rc == -EILSEQ)
		*why = "the key is not valid UTF-8";
	else if (rc == -ENAMETOOLONG)
		*why = "the key is too long";
	else if (rc)
		*why = "a filesystem cannot hold the key: it has an empty, "
		       "'.' or '..' segment";
	return rc;
}

int kc_check_key_size(const char *nsdir, const char *key)
{
	struct statvfs sv;

	/* max_key_size 1024 or more: f_namemax is KVFS_NAME_MAX, the limit
	 * unknown here; kvfs checks it on each lookup */
	if (statvfs(nsdir, &sv) < 0 || sv.f_namemax >= KVFS_NAME_MAX)
		return 0;
	return strlen(key) > sv.f_namemax ? -ENAMETOOLONG : 0;
}

bool kc_prefix_can_start(const char *prefix, size_t len)
{
	const char *slash = memrchr(prefix, '/', len);

	if (len > KVFS_KEY_SIZE_CEIL)
		return false;
	return !slash || !kvfs_check_key(prefix, (size_t)(slash - prefix),
					 KVFS_KEY_SIZE_CEIL);
}
