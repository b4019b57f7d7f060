// Issue 18 §2, no page mixes languages: the strings of each language, and
// the check of a page's visible text against the other languages' strings.
// The strings come from the catalog (templates/lang/<code>.txt, `key =
// value`, issue 18 §5) when it exists, else from the per-language templates
// (templates/<name>.<code>.html and errors.<code>, the layout before the
// catalog). A value or template is cut into fragments: tags and {{...}}
// placeholders split it (a {{=key text}} definition keeps its text), and
// fragments of at least MIN characters count. A fragment of one language
// that is also a fragment of the page's own language (a name, "DigiD
// Substantieel") says nothing and is left out.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MIN = 12;

function decode(s) {
  return s.replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

// The fragments of one piece of template text.
export function fragments(text) {
  const out = [];
  const t = text
    .replace(/<(style|script)[\s\S]*?<\/\1>/g, '\n')
    .replace(/<!--[\s\S]*?-->/g, '\n')
    .replace(/\{\{=(?:page_class|lang_form|lang_switch)\s[^}]*\}\}/g, '\n')
    .replace(/\{\{=[a-z0-9_-]+\s+([^}]*)\}\}/g, '\n$1\n')
    .replace(/\{\{\{?[^}]*\}?\}\}/g, '\n')
    .replace(/<[^>]*>/g, '\n');
  for (const piece of t.split('\n')) {
    const f = decode(piece).replace(/\s+/g, ' ').trim();
    if (f.length >= MIN) out.push(f);
  }
  return out;
}

// { nl: Set, en: Set, ... } and where they came from ('catalog' or 'templates').
export function loadStrings(dir) {
  const strings = {};
  const catalog = join(dir, 'lang');
  if (existsSync(catalog) && readdirSync(catalog).some((f) => f.endsWith('.txt'))) {
    for (const f of readdirSync(catalog).filter((x) => /^[a-z]{2,3}\.txt$/.test(x))) {
      const set = strings[f.slice(0, -4)] = new Set();
      for (const line of readFileSync(join(catalog, f), 'utf8').split('\n')) {
        const m = /^\s*[a-z0-9_.-]+\s*=\s?(.*)$/.exec(line);
        if (!m || /^\s*#/.test(line)) continue;
        for (const fr of fragments(m[1])) set.add(fr);
      }
    }
    return { strings, source: 'catalog' };
  }
  // Before the catalog: the templates that exist in more than one language
  // (the ones with one file only, the inline style and the rows of lists,
  // have no words of a language), and errors.<code> (code=title|text).
  const files = readdirSync(dir);
  const byName = new Map();
  for (const f of files) {
    const m = /^(.+)\.([a-z]{2})\.html$/.exec(f);
    if (m) byName.set(m[1], [...(byName.get(m[1]) || []), m[2]]);
  }
  for (const [name, langs] of byName) {
    if (langs.length < 2) continue;
    for (const l of langs) {
      const set = strings[l] || (strings[l] = new Set());
      for (const fr of fragments(readFileSync(join(dir, `${name}.${l}.html`), 'utf8'))) set.add(fr);
    }
  }
  for (const f of files.filter((x) => /^errors\.[a-z]{2}$/.test(x))) {
    const set = strings[f.slice(7)] || (strings[f.slice(7)] = new Set());
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.startsWith('#') || !line.includes('=')) continue;
      for (const part of line.slice(line.indexOf('=') + 1).split('|'))
        for (const fr of fragments(part)) set.add(fr);
    }
  }
  return { strings, source: 'templates' };
}

// The strings of languages other than lang that a page in lang must not
// show: each other language's fragments that are not also lang's.
export function foreignStrings(strings, lang) {
  const own = strings[lang] || new Set();
  const out = [];
  for (const [l, set] of Object.entries(strings)) {
    if (l === lang) continue;
    for (const f of set) if (!own.has(f)) out.push({ lang: l, text: f });
  }
  return out;
}

// Runs in the page: the text a person sees or hears in the page's own
// language — the title, the visible text, alt and aria-label — leaving out
// elements marked as another language (the switch's "English", a
// technical reason marked lang="en") and machine text shown verbatim
// (code, pre, kbd, samp: an error code, a SAML message, a JSON answer with
// keys such as representation_type), which is in no language.
export function visibleText() {
  const pageLang = document.documentElement.lang;
  const parts = [document.title];
  const walk = (el) => {
    const l = el.getAttribute && el.getAttribute('lang');
    if (l && l !== pageLang) return;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'CODE', 'PRE', 'KBD', 'SAMP'].includes(el.tagName)) return;
    if (el.nodeType === 1) {
      const s = getComputedStyle(el);
      if (s.display === 'none' || s.visibility === 'hidden') return;
      for (const a of ['alt', 'aria-label', 'title', 'placeholder']) if (el.getAttribute(a)) parts.push(el.getAttribute(a));
      if (el.tagName === 'INPUT' && ['submit', 'button'].includes(el.type)) parts.push(el.value);
    }
    for (const c of el.childNodes) {
      if (c.nodeType === 3) parts.push(c.textContent);
      else if (c.nodeType === 1) walk(c);
    }
  };
  walk(document.body);
  return parts.join('\n').replace(/[ \t\r\f\v]+/g, ' ');
}

// The foreign strings found in text (visibleText's answer) as whole words
// (a fragment "representation" is not found in "representation_type"):
// [] when none. names: data of the configuration shown on pages (a care
// provider's name such as "Zorgaanbieder Demo"), which is no text of a
// language.
export function mixedIn(text, foreign, names = []) {
  let flat = text.replace(/\s+/g, ' ');
  for (const n of names) flat = flat.split(n).join(' ');
  const word = (f) => new RegExp(`(?<![\\p{L}\\p{N}_])${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}_])`, 'u');
  return foreign.filter((f) => flat.includes(f.text) && word(f.text).test(flat));
}

// Fragments that stand in more than one language but are not in neutral
// (the text of no language: a parameter, a name): a sentence copied into a
// template of another language without being translated. [] when none.
export function sharedStrings(strings, neutral) {
  const langs = Object.keys(strings);
  const out = [];
  for (let i = 0; i < langs.length; i++)
    for (let j = i + 1; j < langs.length; j++)
      for (const f of strings[langs[i]])
        if (strings[langs[j]].has(f) && !neutral.includes(f)) out.push(`${langs[i]}+${langs[j]}: "${f}"`);
  return out;
}
