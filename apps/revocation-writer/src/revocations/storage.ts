/**
 * A WHERE clause built from optional filters, every value a bind parameter. Column names are
 * only ever literals of our own code, never input.
 */
export class Conditions {
  private readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  /** Adds `<column> <operator> $n` when `value` is defined. */
  add(column: string, operator: '=' | '<' | '>' | '<=' | '>=', value: unknown, cast = ''): this {
    if (value !== undefined) {
      this.params.push(value);
      this.clauses.push(`${column} ${operator} $${this.params.length}${cast}`);
    }
    return this;
  }

  /** The next free parameter placeholder, for LIMIT and the like. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  get where(): string {
    return this.clauses.length === 0 ? '' : `WHERE ${this.clauses.join(' AND ')}`;
  }
}
