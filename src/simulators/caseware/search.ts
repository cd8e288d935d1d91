import { cwSearchOperators, type CwSearchOperator } from '../../portals/caseware/api';
import { SimulatorError } from './errors';

// The `search=` filter of CaseWare Cloud lists: `<Field><op><value>`, op one of = < > <>, strings
// in single quotes with backslash escapes, numbers, true, false, null; top-level primitive fields
// only. [assumed] Strings compare case-insensitively (as a SQL Server collation would).

export type FieldType = 'string' | 'number' | 'boolean';
export type SearchableFields = Record<string, FieldType>;
type Literal = string | number | boolean | null;

export interface SearchFilter {
  field: string;
  operator: CwSearchOperator;
  value: Literal;
}

export function parseSearch(expression: string, fields: SearchableFields): SearchFilter {
  const head = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<>|=|<|>)\s*/.exec(expression);
  if (head === null) {
    throw new SimulatorError(400, `search must read <Field><op><value> with op one of ${cwSearchOperators.join(' ')}`);
  }
  const [matched, field = '', operator = '='] = head;
  const type = fields[field];
  if (type === undefined) throw new SimulatorError(400, `search on ${field} is not supported`);
  const value = parseLiteral(expression.slice(matched.length));
  if (value !== null && typeof value !== type) {
    throw new SimulatorError(400, `search on ${field} needs a ${type === 'string' ? 'quoted string' : type} value`);
  }
  return { field, operator: operator as CwSearchOperator, value };
}

function parseLiteral(text: string): Literal {
  const trimmed = text.trim();
  if (trimmed.startsWith("'")) {
    let value = '';
    for (let index = 1; index < trimmed.length; index += 1) {
      const character = trimmed[index];
      if (character === '\\') {
        index += 1;
        const escaped = trimmed[index];
        if (escaped === undefined) break;
        value += escaped;
      } else if (character === "'") {
        if (index !== trimmed.length - 1) throw new SimulatorError(400, 'search has text after the closing quote');
        return value;
      } else {
        value += character;
      }
    }
    throw new SimulatorError(400, 'search has an unterminated quoted string');
  }
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed === 'null') return null;
  throw new SimulatorError(400, 'search value must be a quoted string, a number, true, false or null');
}

export function matchesSearch(record: object, filter: SearchFilter): boolean {
  const actual = (record as Record<string, unknown>)[filter.field];
  const order = compare(actual, filter.value);
  switch (filter.operator) {
    case '=':
      return order === 0;
    case '<>':
      return order !== 0;
    case '<':
      return order !== undefined && order < 0;
    case '>':
      return order !== undefined && order > 0;
  }
}

/** -1, 0 or 1; 0 only when equal; undefined when the two cannot be ordered (a null is involved). */
function compare(actual: unknown, wanted: Literal): number | undefined {
  if (actual === null || actual === undefined || wanted === null) {
    return (actual ?? null) === wanted ? 0 : undefined;
  }
  if (typeof actual === 'string' && typeof wanted === 'string') {
    const left = actual.toLowerCase();
    const right = wanted.toLowerCase();
    return left === right ? 0 : left < right ? -1 : 1;
  }
  if (typeof actual === 'number' && typeof wanted === 'number') return Math.sign(actual - wanted);
  if (typeof actual === 'boolean' && typeof wanted === 'boolean') return Number(actual) - Number(wanted);
  return undefined;
}
