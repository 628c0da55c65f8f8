#!/usr/bin/env bash
# Builds the seed corpora under fuzz/seeds/<target>/ from the repository's own test fixtures and
# config, plus the date strings and HTML snippets written below. Idempotent: the seeds are rebuilt
# from scratch each time (fuzz/run.sh calls this before every run). Files over 10 KB are skipped
# (AFL++ works best on small inputs).
set -euo pipefail
cd "$(dirname "$0")"
root=..
seeds=seeds
max=10240

rm -rf "$seeds"
mkdir -p "$seeds"/{parse_feed,dates,normalize,extract,fingerprint,config}

# Copies FILE into DIR unless it is too big.
take() {
  local file=$1 dir=$2 name=${3:-$(basename "$1")}
  if [ "$(wc -c <"$file")" -le "$max" ]; then cp "$file" "$seeds/$dir/$name"; fi
}

# One seed per line of stdin, named PREFIX-N.
lines() {
  local dir=$1 prefix=$2 n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    printf '%s' "$line" >"$seeds/$dir/$prefix-$n"
  done
}

# parse_feed: every feed fixture (RSS 0.91/1.0/2.0, Atom, JSON Feed, broken and mis-encoded ones)
# and the HTML page a feed URL sometimes serves instead.
for f in "$root"/tests/fixtures/*.xml "$root"/tests/fixtures/*.json "$root"/tests/fixtures/*.html; do
  take "$f" parse_feed
done

# dates: the formats real feeds write, well and badly.
lines dates date <<'EOF'
Tue, 10 Jun 2003 04:00:00 GMT
Tue, 10 Jun 2003 04:00:00 +0200
10 Jun 2003 04:00 EST
Tuesday, 10-Jun-03 04:00:00 PDT
Tue, 10 June 2003 4:00:00 Z
2003-06-10T04:00:00Z
2003-06-10T04:00:00.123456+05:30
2003-06-10 04:00:00
2003-06-10
20030610T040000Z
Tue Jun 10 04:00:00 UTC 2003
06/10/2003 04:00 PM
10.06.2003 16:00
1055217600
Di, 10 Jun 2003 04:00:00 +0100
Mon, 31 Feb 2025 25:61:61 +9999
EOF

# normalize: item bodies as feeds carry them: HTML with scripts, handlers, entities, lists,
# tables, CDATA leftovers and relative links, and plain text with a dateline and a credit.
lines normalize html <<'EOF'
<p>SARAJEVO (AP) &mdash; The council met on <b>Tuesday</b>.</p><p>It adjourned.</p>
<div><script>alert(1)</script><p onclick="x()">Text &amp; more<br><br>second</p></div>
<p><a href="/rel/link?utm_source=x">link</a> <img src="javascript:alert(1)" alt="a"></p>
<ul><li>one</li><li>two</li></ul><table><tr><td>cell</td></tr></table>
<style>p{color:red}</style><noscript>no</noscript><iframe src="x"></iframe><svg><p>in</p></svg>
&lt;p&gt;escaped&lt;/p&gt; &#x41;&#65;&nbsp;&unknown; &amp&#xD800;
<p>unclosed <i>tags <b>nest</p></div></span><br/><hr/>
<![CDATA[<p>cdata</p>]]><!-- comment --><p>after</p>
TBILISI, Georgia (Reuters) - Plain text first paragraph.
<p>Read more: Subscribe now</p><p>ADVERTISEMENT</p><p>RELATED: other story</p>
EOF
printf 'BELGRADE, Serbia (AP) \xe2\x80\x94 Plain paragraph one.\n\nParagraph two, 12.5%% up.\n\nCopyright 2025 The Associated Press.' >"$seeds/normalize/plain-1"

# extract: article pages, with and without a declared charset.
take "$root"/tests/fixtures/html_page.html extract
cat >"$seeds/extract/article.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bridge reopens | The Example Times</title>
<link rel="canonical" href="/news/bridge-reopens?utm_source=rss"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<article><h1>Bridge reopens after repairs</h1><p class="byline">By A. Writer</p>
<p>MOSTAR, Bosnia &mdash; The old bridge reopened on Tuesday after three months of repairs, the city
said, and traffic over the river was back to normal by the evening.</p>
<p>Engineers replaced 40 stones and the railing. The work cost 1.2 million marks.</p>
<p>&ldquo;We are glad it is done,&rdquo; the mayor said.</p></article>
<aside>Related: <a href="/a">another story</a></aside><footer>&copy; The Example Times</footer>
<script>var x = "<p>not text</p>";</script></body></html>
EOF
printf '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1250"></head><body><article><p>\x8aibenik \x9eupanija: na\x9aa pri\xe8a je du\x9ea od jednog retka.</p></article></body></html>' >"$seeds/extract/cp1250.html"
printf '\xef\xbb\xbf<html><body><div id="content"><p>Byte-order mark first, then the article text in a div.</p><p>A second paragraph.</p></div></body></html>' >"$seeds/extract/bom.html"

# fingerprint: two story bodies separated by a NUL byte (the target splits there): a story with
# itself, with another story, and alone.
python3 - "$root/tests/fixtures/regions/stories.jsonl" "$seeds/fingerprint" <<'EOF'
import json, sys
src, out = sys.argv[1], sys.argv[2]
bodies = []
with open(src, encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if line:
            bodies.append(json.loads(line)["body"])
        if len(bodies) == 4:
            break
pairs = [(bodies[0], bodies[0]), (bodies[0], bodies[1]), (bodies[2], ""), (bodies[3], bodies[2])]
for i, (a, b) in enumerate(pairs, 1):
    with open(f"{out}/pair-{i}", "wb") as g:
        g.write(a.encode() + (b"\0" + b.encode() if b else b""))
EOF
printf 'Prices rose 3.2%% in May, to $1,204.50, up from 1.1 million.\0Prices rose 3.4%% in May, to $1,210, up from 1.1m.' >"$seeds/fingerprint/figures-1"

# config: the shipped config, the same without comments, and one with every optional table.
take "$root"/config/wirefeed.toml config
grep -v '^\s*#' "$root"/config/wirefeed.toml | grep -v '^\s*$' >"$seeds/config/bare.toml"
cat >"$seeds/config/tables.toml" <<'EOF'
[database]
url = "sqlite://x.db"
[[politeness.hosts]]
host = "feeds.example.com"
concurrency = 4
min_spacing_ms = 100
[normalize]
keep_html = false
tracking_params = ["utm_*", "ref"]
boilerplate = ["^Subscribe"]
[[normalize.sources]]
source = "The Example Times"
boilerplate = ["^Read more"]
[admin]
listen = "127.0.0.1:9464"
[[topics]]
name = "arms-trade"
any = ["missile", "arms sale", "re:(?i)\\bjavelins?\\b"]
none = ["toy"]
[[regions]]
slug = "dinaric_alps"
label = "Dinaric Alps"
members = ["HR", "BA", "ME", "AL"]
periphery = ["SI", "RS", "XK"]
parent = "balkans"
aliases = ["Dinaric Alps"]
[[feeds]]
url = "https://feeds.example.com/rss"
source = "Example"
wire = true
full_text = true
EOF

for d in "$seeds"/*; do echo "seed: $(basename "$d"): $(ls "$d" | wc -l) files"; done
