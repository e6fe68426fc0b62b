package config

import (
	"fmt"
	"os"
)

// CheckSecretFile inspects the permissions of a file holding a secret (a
// *_FILE value, a keyring). A file that group or others may write is an
// error: whoever can write it chooses the secret. A file they may read is a
// warning (returned, for the service to log once at start): Docker and
// Kubernetes mount secrets 0444/0644 unless told otherwise (defaultMode
// 0400), so refusing would break the common deployment, but the secret is
// exposed to every local account.
func CheckSecretFile(path string) (warning string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	mode := st.Mode().Perm()
	switch {
	case mode&0o022 != 0:
		return "", fmt.Errorf("%s is writable by group or others (mode %04o): whoever can write it chooses the secret; chmod go-w it", path, mode)
	case mode&0o044 != 0:
		return fmt.Sprintf("secret file %s is readable by group or others (mode %04o); chmod 600 it (secrets mounts: defaultMode 0400)", path, mode), nil
	}
	return "", nil
}

// Warner receives the warnings of a configuration load (e.g. a secret file
// others may read). A configuration struct that implements it gets them from
// LoadFrom; the service logs them once at start.
type Warner interface {
	Warn(msg string)
}
