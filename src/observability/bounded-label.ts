/** The label value every name beyond the limit shares. */
export const OTHER_LABEL = 'other';

/**
 * A label taken from what clients send (an operation name), kept to at most `max` distinct
 * values: the first `max` names seen pass as they are, later new ones become `other`. Without it
 * anyone could add a series to `/metrics` (and to the process's memory) with every request.
 */
export function createBoundedLabel(max = 100): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}
