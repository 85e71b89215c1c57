<?php
// Dumps Nextcloud 34's core task types (wording, slots, IInternalTaskType) as shared/nc34_tasktypes.json:
//   cd NEXTCLOUD && php /path/to/scripts/nc34_tasktypes.php > shared/nc34_tasktypes.json
// (NEXTCLOUD: the tree ../shared/tools/nextcloud-dev/setup.sh installs, e.g. DEST/nextcloud.)
require_once getcwd() . '/lib/base.php';
$out = [];
foreach (glob(getcwd() . '/lib/public/TaskProcessing/TaskTypes/*.php') as $f) {
  $cls = 'OCP\\TaskProcessing\\TaskTypes\\' . basename($f, '.php');
  $t = \OCP\Server::get($cls);
  $shape = function($s) { $r = []; foreach ($s as $k => $v) { $r[$k] = ['name' => $v->getName(), 'description' => $v->getDescription(), 'type' => $v->getShapeType()->name]; } return $r; };
  $out[$t->getId()] = ['name' => $t->getName(), 'description' => $t->getDescription(),
    'inputShape' => $shape($t->getInputShape()), 'outputShape' => $shape($t->getOutputShape()),
    'isInternal' => $t instanceof \OCP\TaskProcessing\IInternalTaskType];
}
ksort($out);
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n";
