// JSON.parse keeps the last of two equal keys silently; Elasticsearch and strict parsers refuse
// the document. This scanner walks JSON text itself and reports every repeated key, at any depth.

/** A key that appears twice in one object: where (JSON path of the object) and which key. */
export interface DuplicateKey {
  path: string;
  key: string;
}

/** Every duplicate key in `text` (one JSON value); throws SyntaxError on malformed JSON. */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const duplicates: DuplicateKey[] = [];
  let i = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i}`);
  };
  const skipWhitespace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const expectChar = (char: string) => {
    skipWhitespace();
    if (text[i] !== char) fail(`expected ${JSON.stringify(char)}`);
    i++;
  };
  const readString = (): string => {
    const start = i;
    if (text[i] !== '"') fail('expected a string');
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    // Escapes (\u0061 and "a" are the same key) are resolved by the real parser.
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readLiteral = () => {
    const match = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      text.slice(i, i + 64),
    );
    if (!match) fail('unexpected character');
    i += match![0].length;
  };
  /** The items of an object or array after its opening bracket, up to and including `close`. */
  const readSequence = (close: '}' | ']', readItem: (index: number) => void) => {
    i++;
    skipWhitespace();
    if (text[i] === close) {
      i++;
      return;
    }
    for (let index = 0; ; index++) {
      readItem(index);
      skipWhitespace();
      if (text[i] !== ',') break;
      i++;
    }
    expectChar(close);
  };
  const readValue = (path: string): void => {
    skipWhitespace();
    const char = text[i];
    if (char === '{') {
      const seen = new Set<string>();
      readSequence('}', () => {
        skipWhitespace();
        const key = readString();
        if (seen.has(key)) duplicates.push({ path, key });
        seen.add(key);
        expectChar(':');
        readValue(`${path}.${key}`);
      });
    } else if (char === '[') {
      readSequence(']', (index) => readValue(`${path}[${index}]`));
    } else if (char === '"') {
      readString();
    } else {
      readLiteral();
    }
  };

  readValue('$');
  skipWhitespace();
  if (i !== text.length) fail('trailing characters');
  return duplicates;
}
