import type { ReadScope } from '../auth/permissions';

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

  /**
   * Only rows `scope` may read (`mayRead` in auth/permissions.ts, as SQL), `column` holding the
   * rule's issuer: for a principal acting for one issuer, rows of that issuer, and with
   * `issuerIndependent` also rows of no issuer (what its enforcement points must enforce too).
   * Nothing for a principal acting for any issuer.
   */
  within(scope: ReadScope, column: string, options: { issuerIndependent: boolean }): this {
    if (scope.issuer !== null) {
      this.params.push(scope.issuer);
      const issuer = `$${this.params.length}`;
      this.clauses.push(
        options.issuerIndependent
          ? `(${column} = ${issuer} OR ${column} IS NULL)`
          : `${column} = ${issuer}`,
      );
    }
    return this;
  }

  /** A condition written out in our own code, holding no input. */
  literal(clause: string): this {
    this.clauses.push(clause);
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
