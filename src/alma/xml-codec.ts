// Alma's XML as a rewrite of its JSON shape. Alma's own JSON is its XML with list wrappers
// flattened (<user_identifiers><user_identifier> becomes user_identifier[]), attributes as plain
// properties and {value, desc} for a code with its description. These two functions apply and
// undo exactly that, so each resource needs only its JSON mapping plus a table of names.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AppError } from '../errors.js';
import { isObject, type Json } from './json-values.js';

export interface XmlShape {
  /** Properties written as attributes of their element (segment_type, preferred, link...). */
  attributes: ReadonlySet<string>;
  /** JSON list key → XML wrapper element: user_identifier → user_identifiers. */
  wrappers: Readonly<Record<string, string>>;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

// Writing.

// Characters XML 1.0 cannot carry at all, and lone surrogates; validation keeps them out of the
// domain, this keeps a stray one from making the whole document unreadable.
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeText(s: string): string {
  return s
    .replace(NOT_XML, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;'); // a parser would turn a raw CR into LF
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function scalar(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

/** A {value, desc} code, or a {value, link} count: text content plus attributes. */
function isValued(v: Json): boolean {
  return 'value' in v && !isObject(v.value) && !Array.isArray(v.value) && Object.keys(v).every((k) => k === 'value' || k === 'desc' || k === 'link');
}

function tag(name: string, attrs: string, content: string): string {
  return content === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
}

function element(name: string, v: unknown, shape: XmlShape): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) {
    const items = v.map((item) => element(name, item, shape)).join('');
    const wrapper = shape.wrappers[name];
    return wrapper ? tag(wrapper, '', items) : items;
  }
  if (!isObject(v)) return tag(name, '', escapeText(scalar(v)));
  if (isValued(v)) {
    if (v.value === null || v.value === undefined) return '';
    let attrs = '';
    // An empty description says nothing; Alma leaves the attribute out too (<country/>).
    if (typeof v.desc === 'string' && v.desc !== '') attrs += ` desc="${escapeAttr(v.desc)}"`;
    if (typeof v.link === 'string') attrs += ` link="${escapeAttr(v.link)}"`;
    return tag(name, attrs, escapeText(scalar(v.value)));
  }
  let attrs = '';
  let content = '';
  for (const [key, child] of Object.entries(v)) {
    if (shape.attributes.has(key) && !isObject(child) && !Array.isArray(child)) {
      if (child !== null && child !== undefined) attrs += ` ${key}="${escapeAttr(scalar(child))}"`;
    } else {
      content += element(key, child, shape);
    }
  }
  return tag(name, attrs, content);
}

/** One element without the XML declaration (a record inside a larger document). */
export function toXmlElement(root: string, value: Json, shape: XmlShape): string {
  return element(root, value, shape);
}

/** The document for a JSON-shaped object, members in their JSON order (which follows the XSD). */
export function toXmlDocument(root: string, value: Json, shape: XmlShape): string {
  return XML_DECLARATION + element(root, value, shape);
}

// Reading.

export const MAX_XML_DEPTH = 32;
const ATTR = '@_';
const TEXT = '#text';
const DANGEROUS = new Set(['__proto__', 'constructor', 'prototype']);

function refuse(reason: string): AppError {
  return new AppError('INVALID_BODY', { format: 'XML', reason });
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The five XML entities and character references; anything else is undeclared, hence malformed. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(cp)) throw refuse(`character reference ${whole} is not allowed in XML`);
      return String.fromCodePoint(cp);
    }
    const v = XML_ENTITIES[ref];
    if (v === undefined) throw refuse(`undeclared entity ${whole}`);
    return v;
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  parseTagValue: false, // barcodes keep their leading zeros; "true" stays a string until read
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_XML_DEPTH,
  // Our own decoder: the parser calls it for text and attributes but not CDATA, and it knows no
  // entity a DTD could declare.
  entityDecoder: {
    decode: decodeEntities,
    addInputEntities: () => {
      throw refuse('ENTITY declarations are not accepted');
    },
    setExternalEntities: () => {},
    reset: () => {},
    setXmlVersion: () => {},
  },
});

/** Undoes toXmlDocument: wrappers flattened to lists, attributes and text as properties. */
function toJsonShape(node: unknown, itemOf: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonShape(n, itemOf));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const key of Object.keys(node)) {
    const v = node[key];
    const name = key === TEXT ? 'value' : key.startsWith(ATTR) ? key.slice(ATTR.length) : key;
    if (DANGEROUS.has(name)) continue;
    const item = itemOf.get(name);
    if (item) {
      // One wrapper or several (a repeated wrapper is still one list); an empty one is [].
      const wrappers = Array.isArray(v) ? v : [v];
      out[item] = wrappers.flatMap((w) => (isObject(w) && w[item] !== undefined ? [w[item]].flat() : [])).map((i) => toJsonShape(i, itemOf));
    } else {
      out[name] = toJsonShape(v, itemOf);
    }
  }
  return out;
}

/** Each shape's list item by wrapper (user_identifiers → user_identifier), made once per shape. */
const ITEMS_BY_WRAPPER = new WeakMap<XmlShape, ReadonlyMap<string, string>>();
function itemsByWrapper(shape: XmlShape): ReadonlyMap<string, string> {
  let items = ITEMS_BY_WRAPPER.get(shape);
  if (!items) ITEMS_BY_WRAPPER.set(shape, (items = new Map(Object.entries(shape.wrappers).map(([item, wrapper]) => [wrapper, item]))));
  return items;
}

/**
 * One element already read by a streaming parser (SIS files), in the parser's tree form:
 * children by name (an array when repeated), attributes as '@_name', text as '#text', a leaf
 * as its trimmed text. Gives the same JSON shape as parseXmlDocument.
 */
export function xmlTreeToJsonShape(node: unknown, shape: XmlShape): Json {
  const out = toJsonShape(node, itemsByWrapper(shape));
  return isObject(out) ? out : {};
}

/**
 * Parses an untrusted document into the JSON shape. Refuses DTDs outright (entity bombs, XXE),
 * nesting deeper than MAX_XML_DEPTH, malformed XML and any root other than `root`.
 */
export function parseXmlDocument(xml: string, root: string, shape: XmlShape): Json {
  if (typeof xml !== 'string' || xml.trim() === '') throw refuse('the document is empty');
  // Checked on the raw text, before any parser sees it. This also refuses the words inside a
  // comment or CDATA section, which no user record needs.
  if (/<!DOCTYPE/i.test(xml)) throw refuse('DOCTYPE declarations are not accepted');
  if (/<!ENTITY/i.test(xml)) throw refuse('ENTITY declarations are not accepted');
  const check = XMLValidator.validate(xml);
  if (check !== true) {
    const { msg, line, col } = check.err;
    throw refuse(line ? `${msg} (line ${line}${col ? `, column ${col}` : ''})` : msg);
  }
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (e) {
    if (e instanceof AppError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw refuse(/nested/i.test(message) ? `elements nested deeper than ${MAX_XML_DEPTH} levels` : message);
  }
  const roots = isObject(doc) ? Object.keys(doc) : [];
  const rootNode = isObject(doc) ? doc[root] : undefined;
  if (roots.length !== 1 || rootNode === undefined) throw refuse(`the root element must be <${root}>`);
  if (Array.isArray(rootNode)) throw refuse(`expected one <${root}> element`);
  const out = toJsonShape(rootNode, itemsByWrapper(shape));
  return isObject(out) ? out : {};
}
