// Types for the parts of semver 7 that nemoclaw uses (@types/semver is not a dependency).
declare module 'semver' {
  export function valid(version: string): string | null;
  export function validRange(range: string): string | null;
  export function satisfies(version: string, range: string): boolean;
}
