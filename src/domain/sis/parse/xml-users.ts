// Alma's SIS XML (<users><user>…</user>…</users>, rest_user.xsd), in two steps.
//
// readXmlUsers (pass one) streams the whole file through saxes in constant memory, checks it as
// XML (DOCTYPE refused: entity bombs, external entities; depth, element size, encoding, root),
// and yields each <user> as its raw text with the few values a load needs before mapping: the
// primary id, the identifiers (the match id), and external_id.
//
// mapXmlUsers (pass two) turns raw <user> elements into UserInputs with the mapping of the API's
// XML bodies, for the records that need it (a nightly file is mostly unchanged users).
//
// When the caller asks (`mapWanted`, consulted at each <user>: a load asks while most records it
// sees need mapping, as in a first load), readXmlUsers also maps the record in the same parse,
// with the same tree builder and mapping, so pass two need not parse it again; a nightly file of
// unchanged users is read without building trees it would throw away.
import { SaxesParser } from 'saxes';
import { AppError } from '../../../errors.js';
import { almaXmlTreeToUserInput } from '../../../alma/user-xml.js';
import { MAX_XML_DEPTH } from '../../../alma/xml-codec.js';
import { at, fileRefused, type MappedRecord, type RawRecord } from './text.js';

export interface XmlReadOptions {
  /** Map the <user> starting now in the same parse (RawRecord.mapped)? */
  mapWanted?: () => boolean;
}

/** No honest <user> comes near this; a bigger one is a broken or hostile file. */
export const MAX_RECORD_CHARS = 1 << 20;
/** Text the parser may hold between two events (one text node, comment or tag). */
const MAX_PENDING_CHARS = 2 << 20;
const FEED_CHARS = 64 * 1024;
const ENCODINGS = ['utf-8', 'utf8', 'us-ascii', 'ascii'];

function newParser() {
  // Only the handlers each step needs: every handler saxes holds slows its inner loop (two more
  // made it three times slower), so comments and processing instructions have none.
  return new SaxesParser({ position: true, xmlns: false });
}

/** Pass one: each <user> of one XML document, raw, in order. */
export async function* readXmlUsers(text: AsyncIterable<string>, name: string, opts: XmlReadOptions = {}): AsyncGenerator<RawRecord> {
  const parser = newParser();
  // The open record's tree, when it is mapped in this parse.
  let tree: TreeBuilder | null = null;
  const ready: RawRecord[] = [];
  let depth = 0;
  let pending = 0;
  let sawRoot = false;
  // The text since the open record began (or since the last one ended), for its raw slice.
  let buf = '';
  let bufStart = 0;
  let recStart = -1;
  let lastEnd = 0;
  let rec: RawRecord | null = null;
  let ident: { type: string; value: string } | null = null;
  let capture: 'primary_id' | 'external_id' | 'id_type' | 'value' | null = null;
  let captured = '';
  const refuse = (reason: string): never => {
    throw fileRefused(at(name, parser.line), reason);
  };

  parser.on('error', (err) => {
    const reason = err.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '');
    refuse(sawRoot ? reason : `not an XML file (${reason})`);
  });
  parser.on('doctype', () => refuse('DOCTYPE declarations are not accepted (entity expansion and external entities are refused)'));
  parser.on('xmldecl', (decl) => {
    if (decl.encoding && !ENCODINGS.includes(decl.encoding.toLowerCase())) refuse(`the file declares encoding ${decl.encoding}; SIS files must be UTF-8`);
  });
  parser.on('opentag', (tag) => {
    pending = 0;
    depth++;
    if (depth > MAX_XML_DEPTH) refuse(`elements nested deeper than ${MAX_XML_DEPTH} levels`);
    if (depth === 1) {
      if (tag.name !== 'users') refuse(`the root element must be <users>, not <${tag.name}>`);
      sawRoot = true;
    } else if (depth === 2) {
      if (tag.name !== 'user') refuse(`expected <user> inside <users>, found <${tag.name}>`);
      // The start tag ends here; it began at its '<' (no raw '<' can stand inside a tag).
      recStart = bufStart + buf.lastIndexOf('<', parser.position - 1 - bufStart);
      rec = { where: at(name, parser.line), line: parser.line, primaryId: null, externalId: null, identifiers: [] };
      tree = opts.mapWanted?.() ? new TreeBuilder() : null;
    } else if (depth === 3 && (tag.name === 'primary_id' || tag.name === 'external_id')) {
      capture = tag.name;
      captured = '';
    } else if (depth === 4 && tag.name === 'user_identifier') {
      ident = { type: '', value: '' };
    } else if (depth === 5 && ident && (tag.name === 'id_type' || tag.name === 'value')) {
      capture = tag.name;
      captured = '';
    }
    tree?.open(tag.name, tag.attributes as Record<string, string>);
  });
  const onText = (t: string) => {
    pending = 0;
    if (capture) captured += t;
    tree?.text(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    pending = 0;
    depth--;
    const done = tree?.close();
    if (capture) {
      const v = captured.trim();
      if (capture === 'primary_id') rec!.primaryId = v || null;
      else if (capture === 'external_id') rec!.externalId = v || null;
      else if (capture === 'id_type') ident!.type = v;
      else ident!.value = v;
      capture = null;
    } else if (depth === 3 && ident) {
      rec!.identifiers!.push(ident);
      ident = null;
    } else if (depth === 1 && rec) {
      const end = parser.position;
      if (end - recStart > MAX_RECORD_CHARS) refuse(`the <user> starting at line ${rec.line} is larger than ${MAX_RECORD_CHARS} characters`);
      rec.raw = buf.slice(recStart - bufStart, end - bufStart);
      if (done) {
        const mapped = mapTree(done.value);
        if (mapped) rec.mapped = mapped.input ? { input: JSON.stringify(mapped.input) } : { error: mapped.error };
      }
      tree = null;
      ready.push(rec);
      rec = null;
      recStart = -1;
      lastEnd = end;
    }
  });

  for await (const chunk of text) {
    for (let i = 0; i < chunk.length; i += FEED_CHARS) {
      const piece = chunk.slice(i, i + FEED_CHARS);
      // Keep only what an open record may still need, one copy per piece.
      const keepFrom = recStart >= 0 ? recStart : lastEnd;
      buf = buf.slice(keepFrom - bufStart) + piece;
      bufStart = keepFrom;
      pending += piece.length;
      if (pending > MAX_PENDING_CHARS) refuse(`an element, text or comment near line ${parser.line} is larger than ${MAX_PENDING_CHARS} characters`);
      if (recStart >= 0 && bufStart + buf.length - recStart > MAX_RECORD_CHARS + FEED_CHARS) {
        refuse(`the <user> starting at line ${(rec as RawRecord | null)?.line ?? '?'} is larger than ${MAX_RECORD_CHARS} characters`);
      }
      parser.write(piece);
      while (ready.length) yield ready.shift()!;
    }
  }
  parser.close();
  while (ready.length) yield ready.shift()!;
  if (!sawRoot) throw fileRefused(name, 'the file has no <users> element (is it XML?)');
}

interface Frame {
  name: string;
  attributes: Record<string, string>;
  children: Record<string, unknown>;
  text: string;
}

/** A finished element in the tree form xml-codec maps: leaf text, or children, '@_attr' and '#text'. */
function valueOf(frame: Frame): unknown {
  const text = frame.text.trim();
  const attrs = Object.entries(frame.attributes);
  if (attrs.length === 0 && Object.keys(frame.children).length === 0) return text;
  const node: Record<string, unknown> = {};
  for (const [k, v] of attrs) node[`@_${k}`] = v;
  Object.assign(node, frame.children);
  if (text) node['#text'] = text;
  return node;
}

function addChild(parent: Frame, name: string, value: unknown): void {
  const seen = parent.children[name];
  if (seen === undefined) parent.children[name] = value;
  else if (Array.isArray(seen)) seen.push(value);
  else parent.children[name] = [seen, value];
}

/** One element's tree from the parser's events (both passes build it with this, so alike). */
class TreeBuilder {
  private readonly stack: Frame[] = [];
  open(name: string, attributes: Record<string, string>): void {
    this.stack.push({ name, attributes, children: {}, text: '' });
  }
  text(t: string): void {
    const top = this.stack.at(-1);
    if (top) top.text += t;
  }
  /** The element just closed, when it is the outermost one. */
  close(): { value: unknown } | undefined {
    const frame = this.stack.pop();
    if (!frame) return undefined;
    const value = valueOf(frame);
    const parent = this.stack.at(-1);
    if (parent) return void addChild(parent, frame.name, value);
    return { value };
  }
}

/** A <user> tree to a UserInput, or why not; undefined for a fault that is not the record's. */
function mapTree(tree: unknown): MappedRecord | undefined {
  try {
    return { input: almaXmlTreeToUserInput(tree) };
  } catch (err) {
    if (!(err instanceof AppError)) return undefined;
    return { error: err.message };
  }
}

/** Pass two: raw <user> elements (checked by pass one) to UserInputs, or why not, in order. */
export function mapXmlUsers(raws: readonly string[]): MappedRecord[] {
  const parser = newParser();
  const tree = new TreeBuilder();
  const out: MappedRecord[] = [];
  let depth = 0;
  parser.on('opentag', (tag) => {
    if (depth++ === 0) return;
    tree.open(tag.name, tag.attributes as Record<string, string>);
  });
  parser.on('text', (t) => tree.text(t));
  parser.on('cdata', (t) => tree.text(t));
  parser.on('closetag', () => {
    if (--depth === 0) return;
    const done = tree.close();
    if (!done) return;
    // A fault that is not the record's (a bug) ends the load, as it always has.
    out.push(mapTree(done.value) ?? { input: almaXmlTreeToUserInput(done.value) });
  });
  parser.write('<users>');
  for (const raw of raws) parser.write(raw);
  parser.write('</users>').close();
  return out;
}
