package optimus
import (
 _ "sigs.k8s.io/yaml"
 _ "sigs.k8s.io/yaml/goyaml.v3"
 _ "github.com/go-playground/validator/v10"
 _ "golang.org/x/crypto/ssh"
 _ "golang.org/x/crypto/ssh/knownhosts"
 _ "golang.org/x/crypto/ssh/agent"
 _ "github.com/fsnotify/fsnotify"
 _ "github.com/spf13/cobra"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "github.com/santhosh-tekuri/jsonschema/v6"
 _ "github.com/invopop/jsonschema"
)
