// Package gpuclass names the GKE custom ComputeClass every GPU pod of the
// platform selects, and the node label and taint that put a node in it.
//
// On GKE the class lists the stack's GPU options in order of preference
// and the cluster autoscaler tries them in that order
// (https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes);
// on the loopback platform the GPU node carries the same label and taint,
// so the real scheduler proves the pods land there and nowhere else. This
// package holds plain strings, so loopback can use it without the cloud SDKs.
package gpuclass

const (
	// Name is the ComputeClass's name: one class per cluster, and one
	// cluster per stack.
	Name = "gpu"
	// Label is the node label a manually created pool of the class
	// carries, and the key GPU pods select the class by.
	// https://cloud.google.com/kubernetes-engine/docs/how-to/create-compute-classes#configure-manual-nodepools
	Label = "cloud.google.com/compute-class"
	// TaintEffect is the class taint's effect (key Label, value Name), in
	// Kubernetes' spelling; the GKE API says NO_SCHEDULE.
	TaintEffect = "NoSchedule"
	// OptionLabel gives a GPU pool's node its pool's 1-based place in the
	// class ("1" is tried first). The pools' generated names are not known
	// at preview, so a priced graph ranks the pools by this label.
	OptionLabel = "gke-gpu-platform/gpu-option"
)

// NodeLabels are the labels a node of the class carries.
func NodeLabels() map[string]string { return map[string]string{Label: Name} }

// Taint is the class's taint as a kubelet's --register-with-taints reads it.
func Taint() string { return Label + "=" + Name + ":" + TaintEffect }
