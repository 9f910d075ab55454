import { z } from 'zod';
import { asymmetricJwsAlgorithm, bool, commaList, int, json, list, parseEnv } from './index';

class TestConfigError extends Error {}

describe('environment values', () => {
  it('accepts asymmetric JWS algorithms only: never none, never a shared-secret HMAC', () => {
    expect(
      ['RS256', 'PS256', 'ES256', 'EdDSA'].map((a) => asymmetricJwsAlgorithm.parse(a)),
    ).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA']);
    for (const refused of ['none', 'HS256', 'HS512', 'rs256']) {
      expect(asymmetricJwsAlgorithm.safeParse(refused).success).toBe(false);
    }
  });

  it('reads true/false, 1/0 and yes/no as booleans and refuses anything else', () => {
    expect(['true', '1', 'yes'].map((v) => bool.parse(v))).toEqual([true, true, true]);
    expect(['false', '0', 'no'].map((v) => bool.parse(v))).toEqual([false, false, false]);
    expect(bool.safeParse('on').success).toBe(false);
  });

  it('reads integers inside their bounds only', () => {
    expect(int(1, 10).parse('10')).toBe(10);
    expect(int(1, 10).safeParse('11').success).toBe(false);
    expect(int(1, 10).safeParse('1.5').success).toBe(false);
    expect(int(1, 10).safeParse('ten').success).toBe(false);
  });

  it('parses JSON, then validates it, and names text that is not JSON', () => {
    const schema = json(z.array(z.string()));
    expect(schema.parse('["a"]')).toEqual(['a']);
    expect(schema.safeParse('[1]').success).toBe(false);
    expect(schema.safeParse('{nope').error?.issues.map((i) => i.message)).toEqual([
      'must be valid JSON',
    ]);
  });

  it('splits comma-separated lists, trims items and drops empty ones', () => {
    expect(list.parse(' a:9092, ,b:9092 ')).toEqual(['a:9092', 'b:9092']);
    expect(list.safeParse(' , ').success).toBe(false);
  });

  it('reads `none` as the empty list only where the list allows it', () => {
    const sources = commaList(z.array(z.enum(['hr', 'idp', 'none'])), true);
    expect(sources.parse(' none ')).toEqual([]);
    expect(sources.parse('hr,idp')).toEqual(['hr', 'idp']);
    expect(commaList(z.array(z.string())).parse('none')).toEqual(['none']);
  });
});

describe(parseEnv.name, () => {
  const Schema = z.object({ PORT: int(0, 65535).default(3000), NAME: z.string().min(2) });

  it('counts an empty variable as unset, so that it takes its default', () => {
    expect(
      parseEnv(Schema, { PORT: '', NAME: 'writer', OTHER: undefined }, TestConfigError),
    ).toEqual({ PORT: 3000, NAME: 'writer' });
  });

  it('throws the app error class naming every offending variable at once', () => {
    let error: unknown;
    try {
      parseEnv(Schema, { PORT: 'eighty' }, TestConfigError);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TestConfigError);
    expect((error as Error).message).toMatch(/^invalid configuration: PORT: .+; NAME: .+$/);
  });
});
