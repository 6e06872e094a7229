/**
 * The Kubernetes checking tools of the deploy tests: helm and deploy/validate's k8s-validate, from
 * DAGCTL_HELM / DAGCTL_K8S_VALIDATE (`eval "$(scripts/provision/k8s-tools.sh env)"`), else built
 * or taken from the per-machine tool cache by that script. Without them the suites skip with a
 * message — unless CI is set: then they fail, and when a Go toolchain is present they are built.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface K8sTools {
  helm: string;
  validate: string;
}

const underCi = (): boolean => process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let found: K8sTools | undefined;

/** Call at the top of a describe(): resolves the tools in a before hook, or skips / fails. */
export function requireK8sTools(ctx: Mocha.Suite): () => K8sTools {
  ctx.beforeAll(function () {
    this.timeout(40 * 60_000); // a first build on a busy 2-core machine
    if (found !== undefined) return;
    const helm = process.env.DAGCTL_HELM;
    const validate = process.env.DAGCTL_K8S_VALIDATE;
    if (helm !== undefined && validate !== undefined && existsSync(helm) && existsSync(validate)) {
      found = { helm, validate };
      return;
    }
    if (!hasGo()) {
      if (underCi()) throw new Error('CI is set but there is no Go toolchain to build helm and k8s-validate (scripts/provision/k8s-tools.sh)');
      console.warn('    (skipped: no go toolchain to build helm and deploy/validate; run `eval "$(scripts/provision/k8s-tools.sh env)"` where Go is installed)');
      this.skip();
    }
    const out = execFileSync('bash', [`${REPO}scripts/provision/k8s-tools.sh`, 'env'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const vars = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    if (vars.DAGCTL_HELM === undefined || vars.DAGCTL_K8S_VALIDATE === undefined) throw new Error(`k8s-tools.sh env printed no tool paths:\n${out}`);
    found = { helm: vars.DAGCTL_HELM, validate: vars.DAGCTL_K8S_VALIDATE };
  });
  return () => {
    if (found === undefined) throw new Error('k8s tools not resolved');
    return found;
  };
}
