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
// unchanged users is read without building trees it would throw away. Given the texts of records
// earlier loads stored (`known`, a re-sync), it does not even parse those: see `skim` below.
import { SaxesParser } from 'saxes';
import { AppError } from '../../../errors.js';
import { almaXmlTreeToUserInput } from '../../../alma/user-xml.js';
import { MAX_XML_DEPTH } from '../../../alma/xml-codec.js';
import { at, countLines, fileRefused, type MappedRecord, type RawRecord } from './text.js';

export interface XmlReadOptions {
  /** Map the <user> starting now in the same parse (RawRecord.mapped)? */
  mapWanted?: () => boolean;
  /** Records a stored user was last loaded from, text for text: these need no parse (see below). */
  known?: KnownRecords;
}

/**
 * The raw texts of records that earlier loads accepted and wrote (known-records.ts): a <user>
 * element's exact text gives the hash a load stored, and the match key it had then.
 */
export interface KnownRecords {
  match(raw: string): { hash: string; key: string } | undefined;
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

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/** Line breaks as the parser counts them (XML's: CR LF, a lone CR, LF). */
function lineBreaks(s: string): number {
  let n = countLines(s);
  if (s.includes('\r')) for (let i = s.indexOf('\r'); i !== -1; i = s.indexOf('\r', i + 1)) if (s.charCodeAt(i + 1) !== 10) n++;
  return n;
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
  // Lines of known records passed by without the parser (parser.line does not count them).
  let skew = 0;
  const line = () => parser.line + skew;
  const refuse = (reason: string): never => {
    throw fileRefused(at(name, line()), reason);
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
      rec = { where: at(name, line()), line: line(), primaryId: null, externalId: null, identifiers: [] };
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

  /** Gives the parser more text (at most FEED_CHARS at a time), keeping what an open record may need. */
  const feed = (text: string) => {
    for (let i = 0; i < text.length; i += FEED_CHARS) {
      const piece = text.slice(i, i + FEED_CHARS);
      const keepFrom = recStart >= 0 ? recStart : lastEnd;
      buf = buf.slice(keepFrom - bufStart) + piece;
      bufStart = keepFrom;
      pending += piece.length;
      if (pending > MAX_PENDING_CHARS) refuse(`an element, text or comment near line ${line()} is larger than ${MAX_PENDING_CHARS} characters`);
      if (recStart >= 0 && bufStart + buf.length - recStart > MAX_RECORD_CHARS + FEED_CHARS) {
        refuse(`the <user> starting at line ${(rec as RawRecord | null)?.line ?? '?'} is larger than ${MAX_RECORD_CHARS} characters`);
      }
      parser.write(piece);
    }
  };

  // With known records, text goes to the parser a record at a time, so that the parser stands
  // between two records when the next one is looked at. A <user> element there whose exact text
  // is known passes by unparsed: that text parsed alone, as a load already did, gave a whole
  // element, and an element parses the same wherever it stands in content (DOCTYPEs, and so
  // entities, are refused; namespaces are not read). Anything else (a comment, an unknown or
  // changed record, text cut between chunks) goes to the parser as it always did.
  const known = opts.known;
  // What the parser has been given (parser.position is right only inside its handlers).
  const fed = () => bufStart + buf.length;
  const betweenRecords = () => rec === null && depth === 1 && lastEnd === fed();
  /** Feeds `win` from its start; returns how much it used (the rest waits for more text). */
  const skim = (win: string, final: boolean): number => {
    let pos = 0;
    while (pos < win.length) {
      if (betweenRecords()) {
        let start = pos;
        while (start < win.length && isSpace(win.charCodeAt(start))) start++;
        if (!final && start + 6 > win.length) return pos;
        if (win.startsWith('<user', start) && (win.charCodeAt(start + 5) === 62 || isSpace(win.charCodeAt(start + 5)))) {
          const close = win.indexOf('</user>', start);
          if (close === -1 && !final && win.length - start <= MAX_RECORD_CHARS) return pos;
          const raw = close === -1 ? '' : win.slice(start, close + 7);
          const hit = raw ? known!.match(raw) : undefined;
          if (hit) {
            feed(win.slice(pos, start));
            pending = 0;
            lastEnd = fed();
            ready.push({ where: at(name, line()), line: line(), known: hit });
            skew += lineBreaks(raw);
            pos = close + 7;
            continue;
          }
        }
      }
      const close = win.indexOf('</user>', pos);
      // No end tag in sight: feed all but what may be the start of one cut by the chunk's end.
      const upto = close !== -1 ? close + 7 : final ? win.length : Math.max(pos, win.length - 6);
      if (upto === pos) return pos;
      feed(win.slice(pos, upto));
      pos = upto;
    }
    return pos;
  };

  if (!known) {
    for await (const chunk of text) {
      // A piece at a time, each one's records given out before the next: the caller's answers
      // (mapWanted) follow the records it has taken.
      for (let i = 0; i < chunk.length; i += FEED_CHARS) {
        feed(chunk.slice(i, i + FEED_CHARS));
        while (ready.length) yield ready.shift()!;
      }
    }
  } else {
    let win = '';
    for await (const chunk of text) {
      win += chunk;
      win = win.slice(skim(win, false));
      while (ready.length) yield ready.shift()!;
    }
    skim(win, true);
  }
  parser.close();
  while (ready.length) yield ready.shift()!;
  if (!sawRoot) throw fileRefused(name, 'the file has no <users> element (is it XML?)');
}

interface Frame {
  name: string;
  attributes: Record<string, string>;
  /** Made at the first child: most elements are leaves. */
  children: Record<string, unknown> | null;
  text: string;
}

/**
 * A finished element in the tree form xml-codec maps: leaf text, or children, '@_attr' and '#text'.
 * (Run for each of a file's millions of elements: no arrays of entries are made to ask whether
 * there is anything in an object.)
 */
function valueOf(frame: Frame): unknown {
  let attributes = false;
  for (const _ in frame.attributes) {
    attributes = true;
    break;
  }
  if (!attributes && frame.children === null) return frame.text.trim();
  const node: Record<string, unknown> = {};
  for (const k in frame.attributes) node[`@_${k}`] = frame.attributes[k];
  if (frame.children) Object.assign(node, frame.children);
  const text = frame.text.trim();
  if (text) node['#text'] = text;
  return node;
}

function addChild(parent: Frame, name: string, value: unknown): void {
  const children = (parent.children ??= {});
  const seen = children[name];
  if (seen === undefined) children[name] = value;
  else if (Array.isArray(seen)) seen.push(value);
  else children[name] = [seen, value];
}

/** One element's tree from the parser's events (both passes build it with this, so alike). */
class TreeBuilder {
  private readonly stack: Frame[] = [];
  open(name: string, attributes: Record<string, string>): void {
    this.stack.push({ name, attributes, children: null, text: '' });
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
