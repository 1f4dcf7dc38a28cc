# MOTChallenge-STEP (deeplab2 layout, MOTS .jpg frames). As deeplab2: train on sequence 0009 and
# validate on 0002, both under images/train. Only person is tracked; STQ is the main metric.
_base_ = './kitti_step.py'

dataset_type = 'MOTChallengeSTEPDataset'
data_root = 'data/motchallenge-step/'

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, sequences=['0009']))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='images/train/', seg='panoptic_maps/train/'),
        sequences=['0002']))
test_dataloader = val_dataloader
