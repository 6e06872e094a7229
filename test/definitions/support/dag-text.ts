/**
 * Builds small DAG file texts for rule tests: a fixed header plus the given datasets/tasks YAML,
 * so each test shows only what it is about.
 */
export function dagText(body: string, name = 'test-dag'): string {
  return `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\n${body}`;
}
