package ensmocktc

import (
	"fmt"
	"strings"

	"github.com/testcontainers/testcontainers-go"
)

const (
	// StatePath is where WithState copies a seed file inside the container.
	StatePath = "/etc/ensmock/state.yaml"
	// DataPath is the image's data volume (VOLUME /data), the --data-dir of WithDataVolume.
	DataPath = "/data"
)

// WithState copies a seed file (YAML or JSON in the shape GET /_ensmock/state
// prints, e.g. examples/state.yaml) into the container and points
// ENSMOCK_STATE at it: the mock starts with those accounts, apps, data files
// and replicas (with a data volume, only when the volume is new).
func WithState(path string) testcontainers.CustomizeRequestOption {
	return fileOption("ENSMOCK_STATE", StatePath, path)
}

// WithStateYAML is WithState with the seed's content.
func WithStateYAML(content []byte) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		return withFileBytes(req, "ENSMOCK_STATE", StatePath, content)
	}
}

// WithDataVolume mounts the named Docker volume at /data and keeps the mock's
// state there (ENSMOCK_DATA_DIR=/data): a container started again on the same
// volume finds every app, data file, replica, fault rule and the clock as they
// were. Docker creates the volume when it does not exist; removing it is the
// caller's business.
func WithDataVolume(volume string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if strings.TrimSpace(volume) == "" {
			return fmt.Errorf("ensmocktc: WithDataVolume: no volume name")
		}
		if err := testcontainers.WithMounts(testcontainers.VolumeMount(volume, DataPath)).Customize(req); err != nil {
			return err
		}
		return testcontainers.WithEnv(map[string]string{"ENSMOCK_DATA_DIR": DataPath}).Customize(req)
	}
}
