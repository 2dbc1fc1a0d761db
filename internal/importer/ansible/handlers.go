package ansible

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

func (c *converter) handlersFile(path string, sc scope) error {
	n, err := loadYAML(path)
	if os.IsNotExist(err) || n == nil {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range n.Content {
		c.task(path, t, sc.merged(c.included), c.selector, true)
	}
	return nil
}

// sameService finds the Service a task already manages that a handler
// restarts, so that the handler adds restartOn to it rather than a second
// resource for the same service.
func (c *converter) sameService(r *Resource) *Resource {
	if r.Kind != "Service" {
		return nil
	}
	for _, prev := range c.order {
		if prev.Kind == "Service" && prev.Spec["name"] == r.Spec["name"] &&
			fmt.Sprint(prev.Spec["hostSelector"]) == fmt.Sprint(r.Spec["hostSelector"]) {
			return prev
		}
	}
	return nil
}

// notifiedBy lists the resources that notify a handler, by its name or a
// topic it listens to.
func (c *converter) notifiedBy(t *yaml.Node, name string) []*Resource {
	topics := []string{name}
	if l := field(t, "listen"); l != nil {
		if l.Kind == yaml.ScalarNode {
			topics = append(topics, l.Value)
		} else {
			for _, e := range l.Content {
				topics = append(topics, e.Value)
			}
		}
	}
	var out []*Resource
	for _, topic := range topics {
		out = append(out, c.notifiers[topic]...)
		c.consumed[topic] = true
	}
	return out
}

// attachHandler wires a converted handler to the resources that notify
// it: a Service restarts on them (reloads, where reloads says the handler
// reloads it), an Exec runs on them.
func (c *converter) attachHandler(t *yaml.Node, name string, made []*Resource, reloads map[*Resource]bool) {
	var refs []any
	seen := map[string]bool{}
	for _, n := range c.notifiedBy(t, name) {
		if key := n.Kind + "/" + n.Name; !seen[key] {
			seen[key] = true
			refs = append(refs, map[string]any{"kind": n.Kind, "name": n.Name})
		}
	}
	for _, r := range made {
		field := "restartOn"
		if reloads[r] {
			field = "reloadOn"
		}
		existing, _ := r.Spec[field].([]any)
		r.Spec[field] = append(existing, refs...)
		if r.Kind == "Exec" {
			r.Spec["refreshOnly"] = true
			delete(r.Spec, "creates")
		}
	}
}
