// The XML layer of label configs: fast-xml-parser's ordered output as a tree
// of plain nodes, and a linear scan for nesting depth that runs before any
// parsing (a deep config would otherwise cost the parser its recursion).
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

type RawNode = Record<string, unknown>;

function toNodes(raw: unknown): XmlNode[] {
  if (!Array.isArray(raw)) return [];
  const out: XmlNode[] = [];
  for (const item of raw as RawNode[]) {
    const tag = Object.keys(item).find((k) => k !== ':@');
    if (!tag || tag.startsWith('#')) continue; // text, comments
    const attrs = (item[':@'] ?? {}) as Record<string, unknown>;
    out.push({
      tag,
      attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)])),
      children: toNodes(item[tag]),
    });
  }
  return out;
}

export function* walk(nodes: XmlNode[]): Generator<XmlNode> {
  for (const n of nodes) {
    yield n;
    yield* walk(n.children);
  }
}

/** An attribute, its name matched without regard to case. */
export function attr(n: XmlNode, name: string): string | undefined {
  const key = Object.keys(n.attrs).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : n.attrs[key];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: true,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  // numeric references (&#234;) too, as Label Studio's own XML parser reads them
  htmlEntities: true,
});

/** Deepest element nesting, by one linear scan of the tags (quotes, comments and CDATA skipped). */
export function maxDepth(xml: string): number {
  let depth = 0;
  let max = 0;
  let i = xml.indexOf('<');
  while (i >= 0 && i < xml.length) {
    let end: number;
    const after = (close: string, from: number) => {
      const k = xml.indexOf(close, from);
      return k < 0 ? -1 : k + close.length - 1;
    };
    if (xml.startsWith('<!--', i)) end = after('-->', i + 4);
    else if (xml.startsWith('<![CDATA[', i)) end = after(']]>', i + 9);
    else if (xml[i + 1] === '!' || xml[i + 1] === '?') end = xml.indexOf('>', i);
    else if (xml[i + 1] === '/') {
      depth--;
      end = xml.indexOf('>', i);
    } else {
      let quote = '';
      end = -1;
      for (let j = i + 1; j < xml.length; j++) {
        const c = xml[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') {
          end = j;
          break;
        }
      }
      if (end > 0 && xml[end - 1] !== '/') depth++;
      if (depth > max) max = depth;
    }
    if (end < 0) break; // unterminated: the validator says where
    i = xml.indexOf('<', end + 1);
  }
  return max;
}

/** The validator's complaint, or undefined for well-formed XML. */
export function xmlProblem(xml: string): { line: number; col: number; msg: string } | undefined {
  const valid = XMLValidator.validate(xml, { allowBooleanAttributes: true });
  return valid === true ? undefined : valid.err;
}

/** Every element of well-formed XML, in document order. */
export function parseXml(xml: string): XmlNode[] {
  return [...walk(toNodes(parser.parse(xml)))];
}
