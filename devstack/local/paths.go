package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ModulePath identifies the repository's root go.mod.
const ModulePath = "github.com/evovoice/billing"

// DataDirName is the local stack's data folder at the repository root
// (gitignored): the DynamoDB files, the dev signing key, local secrets and the
// running stack's endpoints.
const DataDirName = ".local"

// S3FileName, inside the data folder, is the S3 emulator's bbolt database:
// the report CSVs, kept across restarts like the DynamoDB files.
const S3FileName = "s3.bolt"

// StackFile, inside the data folder, describes the running local stack so that
// other commands (`reportctl import --local`) can reach it. It exists only
// while `reportctl dev` runs.
const StackFile = "stack.json"

// FindRoot returns the repository root: the nearest folder at or above start
// whose go.mod declares ModulePath.
func FindRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the repository root: no go.mod of module %s at or above %s; run reportctl inside the repository or pass --data-dir", ModulePath, start)
		}
		dir = parent
	}
}

func isModuleRoot(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == ModulePath
		}
	}
	return false
}

// DefaultDataDir is the data folder of the repository around the working
// directory.
func DefaultDataDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the local data folder: %w", err)
	}
	root, err := FindRoot(wd)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, DataDirName), nil
}

// Running describes a running local stack.
type Running struct {
	PID     int               `json:"pid"`
	APIURL  string            `json:"apiUrl"`
	MailURL string            `json:"mailUrl"`
	Env     map[string]string `json:"env"` // AWS_ENDPOINT_URL_*, credentials, resources.Env*
}

// ErrNotRunning means no local stack runs for a data folder.
var ErrNotRunning = errors.New("the local stack is not running; start it with `make run` (or `reportctl dev`)")

// ReadRunning returns the running stack of dataDir, or ErrNotRunning when its
// stack file is missing or was left by a process that no longer exists.
func ReadRunning(dataDir string) (*Running, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, StackFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotRunning
	} else if err != nil {
		return nil, fmt.Errorf("reading the local stack file: %w", err)
	}
	var r Running
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reading the local stack file: %w", err)
	}
	if r.PID <= 0 || syscall.Kill(r.PID, 0) != nil {
		return nil, ErrNotRunning
	}
	return &r, nil
}

// writeRunning records r for other commands, readable only by the owner (it
// holds the stack's endpoints and dummy credentials, not secrets, but there is
// no reason to share it).
func writeRunning(dataDir string, r Running) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the local stack file: %w", err)
	}
	tmp := filepath.Join(dataDir, StackFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("writing the local stack file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, StackFile)); err != nil {
		return fmt.Errorf("writing the local stack file: %w", err)
	}
	return nil
}
