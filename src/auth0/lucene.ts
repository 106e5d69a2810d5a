/** A Lucene phrase for Auth0's user search (`q=`): quotes and backslashes escaped. */
export function quoteLucene(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
