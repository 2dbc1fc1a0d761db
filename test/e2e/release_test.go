package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/etcdtest"
	"github.com/optimus-cm/optimus/test/testhost"
)

// A release build of linux/amd64, made once for the package: hack/test.sh
// passes the one it checked for reproducibility (OPTIMUS_RELEASE_DIR and
// OPTIMUS_RELEASE_VERSION); otherwise the first test that needs one runs
// hack/release.sh.
var release struct {
	once         sync.Once
	dir, version string
	err          error
}

func releaseBuild(t *testing.T) (dir, version string) {
	t.Helper()
	release.once.Do(func() {
		if d := os.Getenv("OPTIMUS_RELEASE_DIR"); d != "" {
			release.dir, release.version = d, os.Getenv("OPTIMUS_RELEASE_VERSION")
			if release.version == "" {
				release.err = errors.New("OPTIMUS_RELEASE_DIR is set without OPTIMUS_RELEASE_VERSION")
			}
			return
		}
		release.dir, release.version = filepath.Join(bin, "release"), "v0.0.0-e2e.1"
		cmd := exec.Command("./hack/release.sh", release.version, release.dir)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "PLATFORMS=linux/amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			release.err = fmt.Errorf("hack/release.sh: %v\n%s", err, out)
		}
	})
	if release.err != nil {
		t.Fatal(release.err)
	}
	return filepath.Join(release.dir, "linux_amd64"), release.version
}

// execResult runs a command and returns what it did; a failure to start
// it fails the test.
func execResult(t *testing.T, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestReleaseBinaryConvergesSeed: the static optimus of a release build
// reports the version it was given and converges the seed scenario.
func TestReleaseBinaryConvergesSeed(t *testing.T) {
	dir, version := releaseBuild(t)
	optimusRel := filepath.Join(dir, "optimus")

	r := execResult(t, optimusRel, "version", "-o", "json")
	var info v1alpha1.BuildInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); r.code != 0 || err != nil {
		t.Fatalf("version -o json: %v\n%s", err, r)
	}
	if info.Version != version || len(info.Revision) != 40 || info.BuildDate == "" || info.Platform != "linux/amd64" {
		t.Errorf("release build reports %+v, want version %s, a full revision and the commit date", info, version)
	}

	hosts := testhost.Start(t, 3)
	for _, h := range hosts {
		h.Exec(t, "useradd -m oscar")
	}
	manifests := seedDir(t, hosts)
	r = execResult(t, optimusRel, "apply", "-f", manifests, "--yes")
	if r.code != 0 {
		t.Fatalf("apply with the release build: %s", r)
	}
	for i, h := range hosts {
		u := users(t, h)
		wantBob := i == len(hosts)-1
		if !u["alice"] || u["bob"] != wantBob || u["oscar"] {
			t.Errorf("%s: alice=%v bob=%v (want %v) oscar=%v", h.Name, u["alice"], u["bob"], wantBob, u["oscar"])
		}
	}
	if r = execResult(t, optimusRel, "diff", "-f", manifests); r.code != 0 {
		t.Errorf("diff after apply: want exit 0 (no differences)\n%s", r)
	}
}

// controllerImage builds deploy/container/Dockerfile around the release
// build's controller, under a tag of this test's own, removed afterwards.
func controllerImage(t *testing.T) (image, version string) {
	t.Helper()
	testhost.RequireDocker(t)
	dir, version := releaseBuild(t)
	// The build context holds what the Dockerfile copies, laid out as in
	// the repository: deploy/container/ and the binary's directory.
	ctx := t.TempDir()
	copyTree(t, filepath.Join(repoRoot, "deploy", "container"), filepath.Join(ctx, "deploy", "container"))
	copyTree(t, dir, filepath.Join(ctx, "bin"))
	image = fmt.Sprintf("optimus-controller-e2e:%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	r := execResult(t, "docker", "build", "-q", "-f", filepath.Join(ctx, "deploy", "container", "Dockerfile"),
		"--build-arg", "BIN=bin", "-t", image, ctx)
	if r.code != 0 {
		t.Fatalf("docker build: %s", r)
	}
	return image, version
}

// copyTree copies the regular files under src to dst, keeping modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// containerFiles writes files for a container's read-only mounts into a
// new directory readable by the image's user (65532), or, when the test
// cannot chown, returns the docker run arguments that run the container
// as the test's own user instead.
func containerFiles(t *testing.T, files map[string]string) (dir string, userArgs []string) {
	t.Helper()
	dir = t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() != 0 {
		return dir, []string{"--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())}
	}
	for _, p := range append([]string{dir}, keysOf(dir, files)...) {
		if err := os.Chown(p, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	return dir, nil
}

func keysOf(dir string, m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, filepath.Join(dir, k))
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startContainer runs docker run -d with args and removes the container
// (and its anonymous volumes) when the test ends, logging its output if
// the test failed.
func startContainer(t *testing.T, name string, args ...string) {
	t.Helper()
	_ = exec.Command("docker", "rm", "-f", "-v", name).Run() // a leftover of an earlier run of this process id
	// The labels let testhost reap the container if this process dies.
	labels := []string{"--label", testhost.LabelTest + "=1", "--label", fmt.Sprintf("%s=%d", testhost.LabelPID, os.Getpid())}
	r := execResult(t, "docker", append(append([]string{"run", "-d", "--name", name}, labels...), args...)...)
	if r.code != 0 {
		t.Fatalf("docker run: %s", r)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("docker", "logs", "--tail", "60", name).CombinedOutput()
			t.Logf("logs of %s:\n%s", name, logs)
		}
		_ = exec.Command("docker", "rm", "-f", "-v", name).Run()
	})
}

// getStatus reads /api/v1/status at base, with a bearer token when given;
// nil while the controller does not answer.
func getStatus(t *testing.T, base, token string) *v1alpha1.ControllerStatus {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var st v1alpha1.ControllerStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status: %v", err)
	}
	return &st
}

func allReady(st *v1alpha1.ControllerStatus, n int) bool {
	if st == nil || len(st.Hosts) != n {
		return false
	}
	for _, h := range st.Hosts {
		if hostCondition(st, h.Name, v1alpha1.ConditionReady) != string(v1alpha1.ConditionTrue) {
			return false
		}
	}
	return true
}

// TestControllerImage builds the controller image and runs it as its
// documentation says on a Docker network of the test's own, beside two
// test hosts reached by name: the status API (behind a bearer token, as it
// listens off loopback) shows both hosts Ready and the image's version,
// the hosts have the seed users, the image's health check passes, and the
// state volume, written by the image's non-root user, keeps the status.
func TestControllerImage(t *testing.T) {
	image, version := controllerImage(t)
	if r := execResult(t, "docker", "run", "--rm", image, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "optimus-controller "+version+"\n") {
		t.Errorf("docker run IMAGE --version: want optimus-controller %s\n%s", version, r)
	}

	hosts := testhost.StartNetwork(t, 2, 2)
	network := strings.TrimSpace(dockerOut(t, "inspect", "-f", "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}", hosts[0].Container))
	var hs strings.Builder
	for i, h := range hosts {
		role := "base"
		if i == len(hosts)-1 {
			role = "web"
		}
		fmt.Fprintf(&hs, "---\napiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: %s, labels: {role: %s}}\n"+
			"spec: {address: %s, port: 22, privateKeyFile: /etc/optimus/ssh/id_ed25519, hostKey: {knownHostsFile: /etc/optimus/ssh/known_hosts}, connectTimeout: 10s}\n",
			h.Name, role, h.Container)
	}
	manifests, userArgs := containerFiles(t, map[string]string{
		"hosts.yaml": hs.String(),
		"users.yaml": readFile(t, filepath.Join(repoRoot, "manifests", "users.yaml")),
	})
	ssh, _ := containerFiles(t, map[string]string{
		"id_ed25519":  readFile(t, hosts[0].KeyFile),
		"known_hosts": readFile(t, hosts[0].KnownHostsFile),
		"tokens":      "e2e-reader-token\n",
	})

	name := fmt.Sprintf("optimus-e2e-controller-%d", os.Getpid())
	args := append([]string{"--network", network, "-p", "127.0.0.1::9443", "--health-interval", "1s", "--health-start-period", "1s",
		"-v", manifests + ":/etc/optimus/manifests:ro", "-v", ssh + ":/etc/optimus/ssh:ro"}, userArgs...)
	args = append(args, image, "--watch", "/etc/optimus/manifests", "--state-dir", "/var/lib/optimus-controller",
		"--listen", ":9443", "--auth-token-file", "/etc/optimus/ssh/tokens", "--insecure-http", "--resync", "10s", "--log-format", "json")
	startContainer(t, name, args...)
	port := strings.TrimSpace(dockerOut(t, "port", name, "9443/tcp"))
	base := "http://" + port

	var st *v1alpha1.ControllerStatus
	eventually(t, 120*time.Second, "both hosts Ready in the container's status API", func() bool {
		st = getStatus(t, base, "e2e-reader-token")
		return allReady(st, len(hosts))
	})
	if st.Version == nil || st.Version.Version != version {
		t.Errorf("status version = %+v, want %s", st.Version, version)
	}
	if resp, err := http.Get(base + "/api/v1/status"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status API without the token: %v %v, want 401", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	for i, h := range hosts {
		if u := users(t, h); !u["alice"] || u["bob"] != (i == len(hosts)-1) {
			t.Errorf("%s not converged by the containerised controller: %v", h.Name, u)
		}
	}
	eventually(t, 60*time.Second, "the image's HEALTHCHECK (--probe) to pass", func() bool {
		return strings.TrimSpace(dockerOut(t, "inspect", "-f", "{{.State.Health.Status}}", name)) == "healthy"
	})

	// SIGTERM saves the status into the state volume.
	if r := execResult(t, "docker", "stop", "-t", "30", name); r.code != 0 {
		t.Fatalf("docker stop: %s", r)
	}
	cp := exec.Command("docker", "cp", name+":/var/lib/optimus-controller/status.json", "-")
	out, err := cp.Output()
	if err != nil || !bytes.Contains(out, []byte(hosts[0].Name)) {
		t.Errorf("status.json in the state volume after stop: %v\n%.300s", err, out)
	}
}

// TestControllerImageReplicas runs two replicas of the image sharing a
// fleet through a real etcd, with host networking as the replica example
// in docs/install.md does: each serves the whole fleet Ready, with both
// replicas live.
func TestControllerImageReplicas(t *testing.T) {
	etcd := etcdtest.Start(t)
	image, _ := controllerImage(t)
	hosts := testhost.Start(t, 3)
	var hs strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&hs, "---\napiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: %s}\n"+
			"spec: {address: 127.0.0.1, port: %d, privateKeyFile: /etc/optimus/ssh/id_ed25519, hostKey: {knownHostsFile: /etc/optimus/ssh/known_hosts}, connectTimeout: 10s}\n",
			h.Name, h.Port)
	}
	manifests, userArgs := containerFiles(t, map[string]string{
		"hosts.yaml": hs.String(),
		"motd.yaml":  "apiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: \"managed by two replicas\\n\"}\n",
	})
	ssh, _ := containerFiles(t, map[string]string{
		"id_ed25519":  readFile(t, hosts[0].KeyFile),
		"known_hosts": readFile(t, hosts[0].KnownHostsFile),
	})
	var bases []string
	for _, id := range []string{"a", "b"} {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		bases = append(bases, "http://"+addr)
		name := fmt.Sprintf("optimus-e2e-replica-%s-%d", id, os.Getpid())
		args := append([]string{"--network", "host", "--no-healthcheck",
			"-v", manifests + ":/etc/optimus/manifests:ro", "-v", ssh + ":/etc/optimus/ssh:ro"}, userArgs...)
		args = append(args, image, "--watch", "/etc/optimus/manifests", "--state-dir", "/var/lib/optimus-controller",
			"--listen", addr, "--etcd-endpoints", strings.Join(etcd.Endpoints(), ","), "--etcd-prefix", fmt.Sprintf("/e2e-image-%d", os.Getpid()),
			"--replica-id", "replica-"+id, "--resync", "10s", "--log-format", "json")
		startContainer(t, name, args...)
	}
	for _, base := range bases {
		eventually(t, 120*time.Second, "every host Ready and both replicas live at "+base, func() bool {
			st := getStatus(t, base, "")
			return allReady(st, len(hosts)) && len(st.Replicas) == 2
		})
	}
	for _, h := range hosts {
		if got := h.Exec(t, "cat /etc/motd"); got != "managed by two replicas\n" {
			t.Errorf("%s: /etc/motd = %q", h.Name, got)
		}
	}
}
