// Alma's SIS XML (<users><user>…</user>…</users>, rest_user.xsd) read as a stream: saxes builds
// one <user> element at a time, and the Alma mapping the API uses turns it into a UserInput.
// Memory stays constant whatever the file size. DOCTYPE (entity bombs, external entities),
// deep nesting, oversized elements, another root and another encoding refuse the whole file.
import { SaxesParser } from 'saxes';
import { AppError } from '../../../errors.js';
import { MAX_XML_DEPTH } from '../../../http/alma/xml-codec.js';
import { almaXmlTreeToUserInput } from '../../../http/alma/user-xml.js';
import { at, fileRefused, type RawRecord } from './text.js';

/** No honest <user> comes near this; a bigger one is a broken or hostile file. */
export const MAX_RECORD_CHARS = 1 << 20;
/** Text the parser may hold between two events (one text node, comment or tag). */
const MAX_PENDING_CHARS = 2 << 20;
const FEED_CHARS = 64 * 1024;

interface Frame {
  name: string;
  attributes: Record<string, string>;
  children: Record<string, unknown>;
  text: string;
}

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

/** Yields each <user> of one XML document, in order. */
export async function* readXmlUsers(text: AsyncIterable<string>, name: string): AsyncGenerator<RawRecord> {
  const parser = new SaxesParser({ position: true, xmlns: false });
  const stack: Frame[] = [];
  const ready: RawRecord[] = [];
  let depth = 0;
  let recordLine = 0;
  let recordChars = 0;
  let pending = 0;
  let sawRoot = false;
  const where = () => at(name, parser.line);
  const refuse = (reason: string) => {
    throw fileRefused(where(), reason);
  };

  parser.on('error', (err) => {
    const reason = err.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '');
    refuse(sawRoot ? reason : `not an XML file (${reason})`);
  });
  parser.on('doctype', () => refuse('DOCTYPE declarations are not accepted (entity expansion and external entities are refused)'));
  parser.on('xmldecl', (decl) => {
    const enc = decl.encoding?.toLowerCase();
    if (enc && !['utf-8', 'utf8', 'us-ascii', 'ascii'].includes(enc)) refuse(`the file declares encoding ${decl.encoding}; SIS files must be UTF-8`);
  });
  parser.on('opentag', (tag) => {
    pending = 0;
    depth++;
    if (depth > MAX_XML_DEPTH) refuse(`elements nested deeper than ${MAX_XML_DEPTH} levels`);
    if (depth === 1) {
      if (tag.name !== 'users') refuse(`the root element must be <users>, not <${tag.name}>`);
      sawRoot = true;
      return;
    }
    if (depth === 2) {
      if (tag.name !== 'user') refuse(`expected <user> inside <users>, found <${tag.name}>`);
      recordLine = parser.line;
      recordChars = 0;
    }
    stack.push({ name: tag.name, attributes: tag.attributes as Record<string, string>, children: {}, text: '' });
  });
  const onText = (t: string) => {
    pending = 0;
    const top = stack.at(-1);
    if (!top) return;
    recordChars += t.length;
    if (recordChars > MAX_RECORD_CHARS) refuse(`the <user> starting at line ${recordLine} is larger than ${MAX_RECORD_CHARS} characters`);
    top.text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  // No comment or processing-instruction handlers: each handler saxes holds makes its hot loop
  // measurably slower (3x with two more here), and neither carries user data.
  parser.on('closetag', () => {
    pending = 0;
    depth--;
    const frame = stack.pop();
    if (!frame) return;
    recordChars += frame.name.length * 2 + 5;
    if (recordChars > MAX_RECORD_CHARS) refuse(`the <user> starting at line ${recordLine} is larger than ${MAX_RECORD_CHARS} characters`);
    const value = valueOf(frame);
    const parent = stack.at(-1);
    if (parent) {
      addChild(parent, frame.name, value);
      return;
    }
    const record: RawRecord = { where: at(name, recordLine), line: recordLine };
    try {
      record.input = almaXmlTreeToUserInput(value);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      record.error = err.message;
    }
    ready.push(record);
  });

  for await (const chunk of text) {
    for (let i = 0; i < chunk.length; i += FEED_CHARS) {
      const piece = chunk.slice(i, i + FEED_CHARS);
      pending += piece.length;
      if (pending > MAX_PENDING_CHARS) refuse(`an element, text or comment near line ${parser.line} is larger than ${MAX_PENDING_CHARS} characters`);
      parser.write(piece);
      while (ready.length) yield ready.shift()!;
    }
  }
  parser.close();
  while (ready.length) yield ready.shift()!;
  if (!sawRoot) throw fileRefused(name, 'the file has no <users> element (is it XML?)');
}
